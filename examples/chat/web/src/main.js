// The chat's web client: sign-up with the mailed code, rooms and direct messages over the WebSocket
// API, typing, presence, read receipts, history paging, and calls (./calls.js picks the client).
import { joinCall } from "./calls.js";

const configModule = "/strato-config.js"; // served next to the page, not bundled
const { default: config } = await import(/* @vite-ignore */ configModule);
const api = config.httpApiUrl ?? "";
const $ = (id) => document.getElementById(id);
const state = {
  session: JSON.parse(sessionStorage.getItem("chat-session") || "null"), // {idToken, userId, name, email}
  socket: null,
  open: null, // the room or conversation id on screen
  convos: new Map(), // id -> {id, kind, label, unread, peer}
  members: new Map(), // userId -> {name, online}
  rosters: new Map(), // room -> Set of its members' userIds
  messages: new Map(), // id -> sorted list of message frames
  older: new Map(), // id -> the `before` cursor of its history (null: all loaded)
  reads: new Map(), // id -> Map(userId -> upTo)
  sentRead: new Map(),
  call: null, // {callId, handle}
  invite: null,
  typingTimers: new Map(),
  lastTyping: 0,
};
window.chat = state; // for tests: what the page knows

// -- HTTP ------------------------------------------------------------------------------------------
async function request(method, path, body) {
  const headers = { "content-type": "application/json" };
  if (state.session) headers.authorization = `Bearer ${state.session.idToken}`;
  const response = await fetch(`${api}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && state.session && !path.startsWith("/auth/")) signOut("Your session expired: sign in again.");
  if (!response.ok) throw new Error(data.message || `${response.status}`);
  return data;
}

// -- sign-up, confirmation, sign-in ----------------------------------------------------------------------
const authError = (text) => ($("auth-error").textContent = text);
let pending = null; // {email, password} between sign-up and confirmation

$("signup").onsubmit = async (event) => {
  event.preventDefault();
  const form = Object.fromEntries(new FormData(event.target));
  try {
    await request("POST", "/auth/signup", form);
    pending = { email: form.email, password: form.password };
    $("confirm-email").textContent = form.email;
    $("confirm").hidden = false;
    $("signup").hidden = $("signin").hidden = true;
    authError("");
  } catch (err) { authError(err.message); }
};

$("confirm").onsubmit = async (event) => {
  event.preventDefault();
  try {
    await request("POST", "/auth/confirm", { email: pending.email, code: event.target.code.value });
    await signIn(pending.email, pending.password);
  } catch (err) { authError(err.message); }
};

$("signin").onsubmit = async (event) => {
  event.preventDefault();
  try { await signIn(event.target.email.value, event.target.password.value); } catch (err) { authError(err.message); }
};

async function signIn(email, password) {
  const tokens = await request("POST", "/auth/login", { email, password });
  state.session = { idToken: tokens.idToken, userId: tokens.userId, email };
  state.session.name = (await request("GET", "/api/me")).name;
  sessionStorage.setItem("chat-session", JSON.stringify(state.session));
  start();
}

function signOut(reason = "") {
  sessionStorage.removeItem("chat-session");
  state.session = null;
  if (state.socket) state.socket.onclose = null, state.socket.close();
  $("chat").hidden = true;
  $("auth").hidden = false;
  $("signin").hidden = $("signup").hidden = false;
  $("confirm").hidden = true;
  authError(reason);
}
$("signout").onclick = () => signOut();

// -- the WebSocket ------------------------------------------------------------------------------------
function send(frame) {
  if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
}

function connect(delay = 500) {
  const socket = new WebSocket(`${config.webSocketUrls.chat}?token=${encodeURIComponent(state.session.idToken)}`);
  state.socket = socket;
  socket.onopen = () => {
    $("status").textContent = "";
    delay = 500;
    for (const convo of state.convos.values()) if (convo.kind === "room") send({ action: "join", room: convo.id });
  };
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = () => {
    if (state.socket !== socket || !state.session) return;
    $("status").textContent = "connection lost: reconnecting";
    setTimeout(() => connect(Math.min(delay * 2, 10_000)), delay);
  };
}

const place = (frame) => frame.room ?? frame.conversation;
const nameOf = (user) => state.members.get(user)?.name ?? [...state.convos.values()].find((c) => c.peer === user)?.label ?? user.slice(0, 8);

function handle(frame) {
  switch (frame.type) {
    case "joined":
      if (frame.members) { // our own join: the roster
        for (const m of frame.members) state.members.set(m.userId, { name: m.name, online: m.online });
        state.rosters.set(frame.room, new Set(frame.members.map((m) => m.userId)));
        addConvo({ id: frame.room, kind: "room", label: `# ${frame.room}` });
        if (!state.open) openConvo(frame.room);
      } else {
        state.members.set(frame.user, { name: frame.name, online: true });
        state.rosters.get(frame.room)?.add(frame.user);
      }
      break;
    case "message": return received(frame);
    case "typing": return typing(frame);
    case "read":
      if (!state.reads.has(place(frame))) state.reads.set(place(frame), new Map());
      state.reads.get(place(frame)).set(frame.user, frame.upTo);
      break;
    case "presence": {
      const member = state.members.get(frame.user) ?? { name: nameOf(frame.user) };
      state.members.set(frame.user, { ...member, online: frame.status === "online" });
      break;
    }
    case "call-invite":
      state.invite = frame;
      $("invite-text").textContent = `${nameOf(frame.from)} is calling (${frame.room ? "#" + frame.room : "direct"})`;
      $("invite").hidden = false;
      break;
    case "call-ended":
      if (state.invite?.callId === frame.callId) $("invite").hidden = true, (state.invite = null);
      if (state.call?.callId === frame.callId) endCall(false);
      break;
    case "error": $("status").textContent = frame.message; break;
  }
  render();
}

// -- conversations and messages -------------------------------------------------------------------------------
function addConvo(convo) {
  const known = state.convos.get(convo.id);
  state.convos.set(convo.id, { unread: 0, ...known, ...convo });
}

async function loadConversations() {
  const { conversations } = await request("GET", "/api/conversations");
  for (const c of conversations) {
    const id = c.room ?? c.conversation;
    const label = c.kind === "room" ? `# ${c.room}` : c.with.name;
    addConvo({ id, kind: c.kind, label, unread: c.unread, peer: c.with?.userId });
    if (c.kind === "room") send({ action: "join", room: id });
  }
  render();
}

function received(frame) {
  const id = place(frame);
  if (!state.convos.has(id)) {
    const peer = frame.from === state.session.userId ? null : frame.from;
    addConvo({ id, kind: frame.room ? "room" : "direct", label: frame.room ? `# ${frame.room}` : frame.name, peer });
    if (!peer && frame.conversation) loadConversations(); // our own first direct message: learn the peer's name
  }
  const list = state.messages.get(id) ?? [];
  if (!list.some((m) => m.id === frame.id)) list.push(frame), list.sort((a, b) => (a.id < b.id ? -1 : 1));
  state.messages.set(id, list);
  state.typingTimers.delete(`${id}|${frame.from}`);
  if (id !== state.open && frame.from !== state.session.userId) state.convos.get(id).unread += 1;
  render();
}

async function openConvo(id) {
  state.open = id;
  const convo = state.convos.get(id);
  convo.unread = 0;
  if (!state.older.has(id)) await loadOlder(id);
  render();
}

async function loadOlder(id) {
  const before = state.older.get(id);
  const query = before ? `?limit=50&before=${encodeURIComponent(before)}` : "?limit=50";
  const page = await request("GET", `/api/rooms/${encodeURIComponent(id)}/messages${query}`);
  const list = state.messages.get(id) ?? [];
  for (const m of page.messages) if (!list.some((k) => k.id === m.id)) list.push(m);
  list.sort((a, b) => (a.id < b.id ? -1 : 1));
  state.messages.set(id, list);
  state.older.set(id, page.before);
  render();
}
$("older").onclick = () => loadOlder(state.open);

function typing(frame) {
  const key = `${place(frame)}|${frame.from}`;
  state.typingTimers.set(key, Date.now() + 3000);
  render();
  setTimeout(render, 3100);
}

function render() {
  if (!state.session) return;
  const list = $("conversations");
  list.replaceChildren(...[...state.convos.values()].map((c) => {
    const li = document.createElement("li");
    li.dataset.id = c.id;
    li.className = c.id === state.open ? "open" : "";
    const label = document.createElement("span");
    label.textContent = c.label;
    li.append(label);
    if (c.unread) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = c.unread;
      li.append(badge);
    }
    li.onclick = () => openConvo(c.id);
    return li;
  }));
  const open = state.convos.get(state.open);
  $("title").textContent = open ? open.label : "Pick or join a room";
  $("call").disabled = !open || !!state.call;
  for (const el of [$("composer").text, $("composer").querySelector("button")]) el.disabled = !open;
  if (!open) return;
  const messages = state.messages.get(state.open) ?? [];
  $("older").hidden = !state.older.get(state.open);
  $("messages").replaceChildren(...messages.map((m) => {
    const li = document.createElement("li");
    li.dataset.id = m.id;
    li.className = m.from === state.session.userId ? "mine" : "";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = m.name ?? nameOf(m.from);
    li.append(who, document.createTextNode(m.text));
    return li;
  }));
  $("messages").scrollTop = $("messages").scrollHeight;
  const roster = open.kind === "room"
    ? [...(state.rosters.get(open.id) ?? [])].filter((id) => id !== state.session.userId)
      .map((id) => [id, state.members.get(id) ?? { name: nameOf(id) }])
    : open.peer ? [[open.peer, state.members.get(open.peer) ?? { name: open.label }]] : [];
  $("members").replaceChildren(...roster.map(([id, m]) => {
    const li = document.createElement("li");
    li.dataset.user = id;
    li.className = m.online ? "online" : "offline";
    li.innerHTML = '<span class="dot"></span>';
    li.append(`${m.name} (${m.online ? "online" : "offline"})`);
    return li;
  }));
  const last = messages.at(-1);
  const readers = [...(state.reads.get(state.open) ?? new Map()).entries()]
    .filter(([user, upTo]) => last && upTo >= last.id && user !== state.session.userId)
    .map(([user]) => nameOf(user));
  $("receipts").textContent = readers.length ? `Seen by ${readers.join(", ")}` : "";
  const now = Date.now();
  const typers = [...state.typingTimers.entries()]
    .filter(([key, until]) => key.startsWith(`${state.open}|`) && until > now)
    .map(([key]) => nameOf(key.split("|").at(-1)));
  $("typing").textContent = typers.length ? `${typers.join(", ")} typing…` : "";
  if (last && document.visibilityState === "visible" && last.from !== state.session.userId
      && (state.sentRead.get(state.open) ?? "") < last.id) {
    state.sentRead.set(state.open, last.id);
    send({ action: "read", [open.kind === "room" ? "room" : "conversation"]: state.open, upTo: last.id });
  }
}

// -- composing -------------------------------------------------------------------------------------------
const target = () => {
  const open = state.convos.get(state.open);
  return open.kind === "room" ? { room: open.id } : open.peer ? { to: open.peer } : { conversation: open.id };
};

$("composer").onsubmit = (event) => {
  event.preventDefault();
  const text = event.target.text.value;
  if (!text.trim() || !state.open) return;
  send({ action: "sendMessage", ...target(), text, clientId: crypto.randomUUID() });
  event.target.text.value = "";
};
$("composer").text.oninput = () => {
  if (!state.open || Date.now() - state.lastTyping < 2000) return;
  state.lastTyping = Date.now();
  const open = state.convos.get(state.open);
  send({ action: "typing", [open.kind === "room" ? "room" : "conversation"]: state.open });
};
$("join-room").onsubmit = (event) => {
  event.preventDefault();
  const room = event.target.room.value.trim();
  send({ action: "join", room });
  state.open = null;
  addConvo({ id: room, kind: "room", label: `# ${room}` });
  openConvo(room);
  event.target.reset();
};
$("dm").onsubmit = async (event) => {
  event.preventDefault();
  try {
    const user = await request("GET", `/api/users?email=${encodeURIComponent(event.target.email.value)}`);
    const id = ["dm", ...[user.userId, state.session.userId].sort()].join(":");
    addConvo({ id, kind: "direct", label: user.name, peer: user.userId });
    state.members.set(user.userId, { online: false, ...state.members.get(user.userId), name: user.name });
    state.open = id;
    state.older.set(id, null);
    render();
    event.target.reset();
  } catch (err) { $("status").textContent = err.message; }
};

// -- calls ---------------------------------------------------------------------------------------------
async function enterCall(callId, info) {
  $("callbox").hidden = false;
  const handle = await joinCall(config, info, {
    localVideo: $("local-video"), remoteVideo: $("remote-video"), remoteAudio: $("remote-audio"),
    onLeft: () => endCall(false),
  });
  state.call = { callId, handle };
  render();
}

function endCall(hangUp) {
  const call = state.call;
  state.call = null;
  $("callbox").hidden = true;
  if (call) {
    call.handle.leave();
    if (hangUp) request("DELETE", `/api/calls/${call.callId}`).catch(() => {});
  }
  render();
}

$("call").onclick = async () => {
  try {
    const started = await request("POST", "/api/calls", target());
    await enterCall(started.callId, started);
  } catch (err) { $("status").textContent = err.message; }
};
$("accept").onclick = async () => {
  const invite = state.invite;
  $("invite").hidden = true;
  state.invite = null;
  try { await enterCall(invite.callId, await request("POST", `/api/calls/${invite.callId}/join`)); }
  catch (err) { $("status").textContent = err.message; }
};
$("decline").onclick = () => {
  $("invite").hidden = true;
  request("POST", `/api/calls/${state.invite.callId}/decline`).catch(() => {});
  state.invite = null;
};
$("hangup").onclick = () => endCall(true);

// -- start ---------------------------------------------------------------------------------------------
function start() {
  $("auth").hidden = true;
  $("chat").hidden = false;
  $("me").textContent = state.session.name ?? state.session.email;
  connect();
  loadConversations().catch((err) => ($("status").textContent = err.message));
}

if (state.session) start();
document.body.dataset.ready = "1"; // the handlers are attached (tests wait for this before typing)
