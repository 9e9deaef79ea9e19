// A call on Amazon Chime SDK meetings (the deployed app): audio, the camera, and the other side's tile.
import {
  ConsoleLogger,
  DefaultDeviceController,
  DefaultMeetingSession,
  LogLevel,
  MeetingSessionConfiguration,
} from "amazon-chime-sdk-js";

export async function joinChime(info, { localVideo, remoteVideo, remoteAudio, onLeft }) {
  const logger = new ConsoleLogger("chat", LogLevel.WARN);
  const devices = new DefaultDeviceController(logger);
  const configuration = new MeetingSessionConfiguration({ Meeting: info.meeting }, { Attendee: info.attendee });
  const session = new DefaultMeetingSession(configuration, logger, devices);
  const av = session.audioVideo;
  const [mic] = await av.listAudioInputDevices();
  const [camera] = await av.listVideoInputDevices();
  if (mic) await av.startAudioInput(mic.deviceId);
  if (camera) await av.startVideoInput(camera.deviceId);
  await av.bindAudioElement(remoteAudio);
  av.addObserver({
    videoTileDidUpdate(tile) {
      if (!tile.boundAttendeeId) return;
      av.bindVideoElement(tile.tileId, tile.localTile ? localVideo : remoteVideo);
    },
    audioVideoDidStop() { onLeft?.(); },
  });
  av.start();
  av.startLocalVideoTile();
  return {
    client: "chime",
    leave() {
      av.stopLocalVideoTile();
      av.stop();
    },
  };
}
