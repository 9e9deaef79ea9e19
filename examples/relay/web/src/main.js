// The relay's web viewer: pair with the code the CLI printed, then a real terminal (xterm.js) whose
// output and keystrokes are end-to-end encrypted (./crypto.js); reconnects join by sessionId and resume.
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import { Channel, Rejected, hex, keyId, newKeyPair, pack, unpack } from "./crypto.js";

const configModule = "/strato-config.js"; // served next to the page, not bundled
// idToken(): with RELAY_AUTH=1 the site signs users in with HttpOnly cookies; the page asks the site's
// same-origin token endpoint for the ID token the WebSocket wants (null when the site has no sign-in)
const { default: config, idToken } = await import(/* @vite-ignore */ configModule);
const status = (text) => (document.getElementById("status").textContent = text);
const term = new Terminal({ cursorBlink: true, convertEol: false, scrollback: 5000 });
const fit = new FitAddon();
term.loadAddon(fit);
term.open(document.getElementById("terminal"));
fit.fit();
window.relay = { term, output: "", state: "idle" }; // for tests: what the terminal received

const encoder = new TextEncoder();
let socket, channel, keys, sessionId, mineId, seq = -1;
let queue = Promise.resolve(); // frames are opened one at a time, in arrival order

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

async function connect(join) {
  const token = await idToken(); // asked for on every (re)connect: it expires, the site refreshes it
  const auth = token ? `&token=${encodeURIComponent(token)}` : "";
  socket = new WebSocket(`${config.webSocketUrls.relay}?role=web${auth}`);
  socket.onopen = () => send({ action: "join", publicKey: keys.publicB64, ...join });
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    queue = queue.then(() => handle(frame)).catch((err) => console.warn("relay:", err));
  };
  socket.onclose = () => {
    if (!sessionId || window.relay.state === "closed") return;
    status("connection lost: reconnecting");
    setTimeout(() => connect({ sessionId }).catch((err) => status(`cannot reconnect: ${err.message}`)), 500);
  };
}

async function handle(frame) {
  if (frame.type === "joined") {
    const resumed = !!channel;
    sessionId = frame.sessionId;
    if (!resumed) channel = await Channel.withCli(keys, frame.peerPublicKey);
    window.relay.state = "paired";
    status(`paired: another viewer can open ${location.origin}${location.pathname}?session=${sessionId}`);
    send({ action: "resume", sessionId, after: channel.delivered });
    send({ action: "resize", sessionId, cols: term.cols, rows: term.rows });
    term.focus();
  } else if (frame.type === "data" && frame.from === "cli" && channel) {
    const mine = unpack(frame.payload).get(mineId);
    if (!mine) return; // a frame for the other viewers only
    try {
      for (const data of await channel.open(frame.seq, mine)) {
        term.write(data);
        window.relay.output += new TextDecoder().decode(data);
      }
    } catch (err) {
      if (!(err instanceof Rejected)) throw err;
      console.warn("relay: dropped", err.message);
    }
  } else if (frame.type === "resize") {
    term.resize(frame.cols, frame.rows);
  } else if (frame.type === "peer-left" && frame.role === "cli") {
    status("the CLI disconnected: waiting for it to come back");
  } else if (frame.type === "peer-joined") {
    status(`paired (session ${sessionId.slice(0, 8)})`);
  } else if (frame.type === "closed") {
    window.relay.state = "closed";
    status("the session ended");
    socket.close();
  } else if (frame.type === "error") {
    status(frame.code === "invalid-pairing" ? "wrong or expired pairing code" : `error: ${frame.message || frame.code}`);
    if (!sessionId) window.relay.state = "refused";
  }
}

term.onData((text) => {
  if (!channel || !sessionId) return;
  const bytes = encoder.encode(text);
  const mySeq = ++seq;
  queue = queue.then(async () => {
    const record = await channel.seal(mySeq, bytes);
    send({ action: "send", sessionId, seq: mySeq, payload: pack([record]) });
  });
});

async function pair(join) {
  keys = await newKeyPair();
  mineId = hex(await keyId(keys.publicB64));
  channel = undefined;
  status("pairing…");
  await connect(join);
}

document.getElementById("pair").addEventListener("submit", (event) => {
  event.preventDefault();
  pair({ pairingCode: document.getElementById("code").value.trim().toUpperCase() }).catch((err) => status(err.message));
});
window.addEventListener("resize", () => {
  fit.fit();
  if (sessionId) send({ action: "resize", sessionId, cols: term.cols, rows: term.rows });
});
// ?code=<pairing code> (the link the CLI prints), or ?session=<id> (a paired viewer's link for another viewer)
const params = new URLSearchParams(location.search);
if (params.get("code")) {
  document.getElementById("code").value = params.get("code");
  pair({ pairingCode: params.get("code").trim().toUpperCase() });
} else if (params.get("session")) {
  pair({ sessionId: params.get("session") });
}
