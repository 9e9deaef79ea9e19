"""End-to-end encryption of relay frames: the server only ever relays and stores these bytes.

X25519 between the CLI and each viewer, HKDF-SHA256 to one AES-256-GCM key per direction, the
sequence number in the nonce. A payload is a list of records, one per recipient key:

    record     = key id (8: SHA-256(viewer public key)[:8]) | length (4, big endian) | ciphertext
    ciphertext = AES-256-GCM(key, nonce = direction (1) | 0 0 0 | seq (8), prev (8, signed) | data,
                             aad = b"relay/1 " + direction)

``prev`` is the seq of the sender's previous frame for this recipient (-1 for the first), inside
the authenticated plaintext: frames that arrive out of order (API Gateway runs them concurrently)
are held until their predecessor came, a replayed or older frame is rejected, nothing is skipped.
The web client (web/src/crypto.js) implements the same format with WebCrypto.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CLI_TO_WEB, WEB_TO_CLI = 1, 2
INFO = b"strato relay v1"


class Rejected(Exception):
    """A frame that failed authentication, or a replayed / stale one."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def key_id(public_b64: str) -> bytes:
    return hashlib.sha256(base64.b64decode(public_b64)).digest()[:8]


class KeyPair:
    """This side's X25519 key pair (a CLI keeps one across reconnects)."""

    def __init__(self) -> None:
        self.private = X25519PrivateKey.generate()
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_b64 = b64(raw)


def nonce(direction: int, seq: int) -> bytes:
    return bytes([direction, 0, 0, 0]) + struct.pack(">Q", seq)


@dataclass
class Channel:
    """The pairwise keys between the CLI and one viewer, and the receiving order state."""

    send_key: AESGCM
    recv_key: AESGCM
    send_dir: int
    peer_id: bytes  # the key id records for this viewer carry
    last_sent: int = -1
    delivered: int = -1  # the last seq handed on (receiving side)
    held: dict[int, tuple[int, bytes]] = field(default_factory=dict)  # prev -> (seq, data)

    @classmethod
    def between(cls, mine: KeyPair, role: str, peer_public_b64: str) -> Channel:
        peer = X25519PublicKey.from_public_bytes(base64.b64decode(peer_public_b64))
        shared = mine.private.exchange(peer)
        cli_pub, web_pub = (mine.public_b64, peer_public_b64) if role == "cli" else (peer_public_b64, mine.public_b64)
        salt = base64.b64decode(cli_pub) + base64.b64decode(web_pub)
        okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=INFO).derive(shared)
        to_web, to_cli = AESGCM(okm[:32]), AESGCM(okm[32:])
        if role == "cli":
            return cls(to_web, to_cli, CLI_TO_WEB, key_id(web_pub))
        return cls(to_cli, to_web, WEB_TO_CLI, key_id(web_pub))

    def seal(self, seq: int, data: bytes) -> bytes:
        body = struct.pack(">q", self.last_sent) + data
        self.last_sent = seq
        ct = self.send_key.encrypt(nonce(self.send_dir, seq), body, b"relay/1 " + bytes([self.send_dir]))
        return self.peer_id + struct.pack(">I", len(ct)) + ct

    def open(self, seq: int, ciphertext: bytes) -> list[bytes]:
        """Authenticate one frame; return the data now deliverable in order (maybe none, maybe several)."""
        direction = WEB_TO_CLI if self.send_dir == CLI_TO_WEB else CLI_TO_WEB
        if seq <= self.delivered or any(s == seq for s, _ in self.held.values()):
            raise Rejected(f"frame {seq} replayed (already at {self.delivered})")
        try:
            body = self.recv_key.decrypt(nonce(direction, seq), ciphertext, b"relay/1 " + bytes([direction]))
        except InvalidTag:
            raise Rejected(f"frame {seq} failed authentication (tampered, or not for this key)") from None
        (prev,) = struct.unpack(">q", body[:8])
        if not self.delivered <= prev < seq or prev in self.held:
            raise Rejected(f"frame {seq} is out of sequence (prev {prev}, at {self.delivered})")
        self.held[prev] = (seq, body[8:])
        out = []
        while self.delivered in self.held:
            self.delivered, data = self.held.pop(self.delivered)
            out.append(data)
        return out


def pack(records: list[bytes]) -> str:
    return b64(b"".join(records))


def unpack(payload: str) -> dict[bytes, bytes]:
    """key id -> ciphertext; a malformed payload is Rejected."""
    try:
        raw = base64.b64decode(payload, validate=True)
    except ValueError:
        raise Rejected("payload is not base64") from None
    out, at = {}, 0
    while at < len(raw):
        if at + 12 > len(raw):
            raise Rejected("truncated record")
        (length,) = struct.unpack(">I", raw[at + 8 : at + 12])
        out[raw[at : at + 8]] = raw[at + 12 : at + 12 + length]
        at += 12 + length
        if at > len(raw):
            raise Rejected("truncated record")
    return out
