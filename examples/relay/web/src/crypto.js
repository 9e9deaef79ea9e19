// The relay's end-to-end encryption with WebCrypto: the same format as examples/relay/crypto.py.
// X25519 with the CLI, HKDF-SHA256 to one AES-256-GCM key per direction, the seq in the nonce, and the
// sender's previous seq (for this key) inside the authenticated plaintext: frames the server delivers
// out of order are held until their predecessor came; replayed or stale ones are rejected.
const CLI_TO_WEB = 1, WEB_TO_CLI = 2;
const INFO = new TextEncoder().encode("strato relay v1");

export const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
export const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const nonce = (direction, seq) => {
  const n = new Uint8Array(12);
  n[0] = direction;
  new DataView(n.buffer).setBigUint64(4, BigInt(seq));
  return n;
};
const aad = (direction) => concat(new TextEncoder().encode("relay/1 "), new Uint8Array([direction]));

export async function keyId(publicB64) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", unb64(publicB64))).slice(0, 8);
}

export async function newKeyPair() {
  const pair = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
  return { privateKey: pair.privateKey, publicB64: b64(raw) };
}

export class Rejected extends Error {}

// The viewer's side of the pairwise channel with the CLI.
export class Channel {
  static async withCli(mine, cliPublicB64) {
    const peer = await crypto.subtle.importKey("raw", unb64(cliPublicB64), { name: "X25519" }, false, []);
    const shared = await crypto.subtle.deriveBits({ name: "X25519", public: peer }, mine.privateKey, 256);
    const hkdf = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveBits"]);
    const salt = concat(unb64(cliPublicB64), unb64(mine.publicB64));
    const okm = new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info: INFO }, hkdf, 512));
    const aes = (raw, use) => crypto.subtle.importKey("raw", raw, "AES-GCM", false, [use]);
    const channel = new Channel();
    channel.recvKey = await aes(okm.slice(0, 32), "decrypt");   // CLI -> web
    channel.sendKey = await aes(okm.slice(32), "encrypt");      // web -> CLI
    channel.myId = await keyId(mine.publicB64);
    return channel;
  }

  constructor() { this.lastSent = -1; this.delivered = -1; this.held = new Map(); this.seen = new Set(); }

  async seal(seq, data) {
    const body = new Uint8Array(8 + data.length);
    new DataView(body.buffer).setBigInt64(0, BigInt(this.lastSent));
    body.set(data, 8);
    this.lastSent = seq;
    const ct = new Uint8Array(await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce(WEB_TO_CLI, seq), additionalData: aad(WEB_TO_CLI) }, this.sendKey, body));
    const head = new Uint8Array(12);
    head.set(this.myId);
    new DataView(head.buffer).setUint32(8, ct.length);
    return concat(head, ct);
  }

  // Authenticate one frame; resolve to the data now deliverable in order (maybe none, maybe several).
  async open(seq, ciphertext) {
    if (seq <= this.delivered || this.seen.has(seq)) throw new Rejected(`frame ${seq} replayed`);
    let body;
    try {
      body = new Uint8Array(await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: nonce(CLI_TO_WEB, seq), additionalData: aad(CLI_TO_WEB) }, this.recvKey, ciphertext));
    } catch {
      throw new Rejected(`frame ${seq} failed authentication`);
    }
    const prev = Number(new DataView(body.buffer).getBigInt64(0));
    if (!(this.delivered <= prev && prev < seq) || this.held.has(prev)) throw new Rejected(`frame ${seq} out of sequence`);
    this.seen.add(seq);
    this.held.set(prev, [seq, body.slice(8)]);
    const out = [];
    while (this.held.has(this.delivered)) {
      const [next, data] = this.held.get(this.delivered);
      this.held.delete(this.delivered);
      this.seen.delete(next);
      this.delivered = next;
      out.push(data);
    }
    return out;
  }
}

export function pack(records) { return b64(concat(...records)); }

// key id (hex) -> ciphertext
export function unpack(payload) {
  const raw = unb64(payload), out = new Map();
  for (let at = 0; at + 12 <= raw.length;) {
    const length = new DataView(raw.buffer, at + 8, 4).getUint32(0);
    out.set(hex(raw.slice(at, at + 8)), raw.slice(at + 12, at + 12 + length));
    at += 12 + length;
  }
  return out;
}

export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
