// strato's local meeting client: WebRTC peer connections between the attendees of one meeting,
// signalled through `strato dev` (/_strato/meetings/<name>/signal). Served at
// /_strato/meetings/client.js. On AWS, use amazon-chime-sdk-js with the same Meeting/Attendee objects.
//
//   const call = new StratoMeeting(joinInfo, { stream, onTrack, onMessage, onPeers });
//   await call.join();  call.send("hello");  call.leave();

export class StratoMeeting {
  constructor(joinInfo, { stream = null, onTrack = () => {}, onMessage = () => {}, onPeers = () => {} } = {}) {
    this.meeting = joinInfo.Meeting;
    this.attendee = joinInfo.Attendee;
    this.stream = stream;
    this.handlers = { onTrack, onMessage, onPeers };
    this.peers = new Map(); // attendeeId -> { pc, channel, pending: [] }
  }

  join() {
    const url = `${this.meeting.MediaPlacement.SignalingUrl}&token=${encodeURIComponent(this.attendee.JoinToken)}`;
    this.ws = new WebSocket(url);
    this.ws.onmessage = (event) => this.#signal(JSON.parse(event.data));
    return new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => reject(new Error("signalling connection refused (ended meeting or bad join token)"));
    });
  }

  send(text) {
    for (const { channel } of this.peers.values()) if (channel && channel.readyState === "open") channel.send(text);
  }

  leave() {
    for (const id of [...this.peers.keys()]) this.#drop(id);
    if (this.ws) this.ws.close(1000, "left");
  }

  #post(message) { this.ws.send(JSON.stringify(message)); }

  #peer(id, initiator) {
    if (this.peers.has(id)) return this.peers.get(id);
    const pc = new RTCPeerConnection({ iceServers: [] });
    const entry = { pc, channel: null, pending: [] };
    this.peers.set(id, entry);
    if (this.stream) for (const track of this.stream.getTracks()) pc.addTrack(track, this.stream);
    pc.onicecandidate = ({ candidate }) => { if (candidate) this.#post({ type: "candidate", to: id, candidate }); };
    pc.ontrack = (event) => this.handlers.onTrack(id, event.streams[0] || new MediaStream([event.track]));
    pc.onconnectionstatechange = () => this.handlers.onPeers(this.#states());
    const wire = (channel) => {
      entry.channel = channel;
      channel.onmessage = (event) => this.handlers.onMessage(id, event.data);
      channel.onopen = () => this.handlers.onPeers(this.#states());
    };
    if (initiator) wire(pc.createDataChannel("strato"));
    else pc.ondatachannel = (event) => wire(event.channel);
    return entry;
  }

  #states() {
    return Object.fromEntries([...this.peers].map(([id, p]) => [id, {
      connection: p.pc.connectionState, channel: p.channel ? p.channel.readyState : "none" }]));
  }

  #drop(id) {
    const entry = this.peers.get(id);
    if (!entry) return;
    entry.pc.close();
    this.peers.delete(id);
    this.handlers.onPeers(this.#states());
  }

  async #signal(message) {
    if (message.type === "welcome") {
      // the newcomer calls everyone already there
      for (const peer of message.peers) {
        const { pc } = this.#peer(peer.AttendeeId, true);
        await pc.setLocalDescription(await pc.createOffer());
        this.#post({ type: "offer", to: peer.AttendeeId, sdp: pc.localDescription.sdp });
      }
    } else if (message.type === "offer") {
      const entry = this.#peer(message.from, false);
      await entry.pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
      for (const candidate of entry.pending.splice(0)) await entry.pc.addIceCandidate(candidate);
      await entry.pc.setLocalDescription(await entry.pc.createAnswer());
      this.#post({ type: "answer", to: message.from, sdp: entry.pc.localDescription.sdp });
    } else if (message.type === "answer") {
      const entry = this.peers.get(message.from);
      if (entry) {
        await entry.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        for (const candidate of entry.pending.splice(0)) await entry.pc.addIceCandidate(candidate);
      }
    } else if (message.type === "candidate") {
      const entry = this.#peer(message.from, false);
      if (entry.pc.remoteDescription) await entry.pc.addIceCandidate(message.candidate);
      else entry.pending.push(message.candidate);
    } else if (message.type === "left") {
      this.#drop(message.attendeeId);
    }
  }
}
