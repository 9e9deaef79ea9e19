// Joins a call with the client the runtime config names for the "calls" meetings resource, as the
// seed's WebRTC adapters switch on a setting: strato's signalling client under `strato dev`,
// amazon-chime-sdk-js once deployed (its chunk is fetched only then). Both get the Chime SDK's
// Meeting and Attendee objects from POST /api/calls or /api/calls/{id}/join.
const STRATO_CLIENT = "/_strato/meetings/client.js"; // served by strato dev, not bundled

export async function joinCall(config, info, { localVideo, remoteVideo, remoteAudio, onLeft }) {
  const client = config.meetings?.calls?.client ?? "strato";
  if (client === "chime") {
    const { joinChime } = await import("./chime.js");
    return joinChime(info, { localVideo, remoteVideo, remoteAudio, onLeft });
  }
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
  localVideo.srcObject = stream;
  const { StratoMeeting } = await import(/* @vite-ignore */ STRATO_CLIENT);
  const call = new StratoMeeting(
    { Meeting: info.meeting, Attendee: info.attendee },
    {
      stream,
      // the picture plays muted (autoplay never blocks it); the sound goes through its own element
      onTrack: (_id, remote) => { remoteVideo.srcObject = remoteAudio.srcObject = remote; },
      onPeers: (peers) => {
        window.chatCallPeers = peers; // for tests: each peer's connection and data-channel state
        if (Object.keys(peers).length === 0) remoteVideo.srcObject = remoteAudio.srcObject = null;
      },
    },
  );
  await call.join();
  return {
    client,
    leave() {
      call.leave();
      for (const track of stream.getTracks()) track.stop();
      localVideo.srcObject = remoteVideo.srcObject = remoteAudio.srcObject = null;
    },
  };
}
