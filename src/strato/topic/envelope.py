"""SNS message envelopes: what webhooks and non-raw queue subscriptions receive, signed as SNS signs.

The local provider signs with an RSA key and self-signed certificate kept in the data directory
and served by ``strato dev`` at ``/_strato/sns/signing-cert.pem``; AWS signs with its own. Receivers
call :func:`verify` on either: it rebuilds SNS's canonical string, fetches the certificate from an
allowed host only, and checks the signature (SignatureVersion 1 = SHA1, 2 = SHA256).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..core.errors import ValidationError

_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_AWS_CERT_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_cert_cache: dict[str, bytes] = {}


class SignatureError(ValidationError):
    """The message is not a genuine SNS message: bad, missing or untrusted signature."""

    status = 403
    code = "InvalidSignature"


def timestamp(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def string_to_sign(envelope: dict[str, Any]) -> bytes:
    keys = _NOTIFICATION_KEYS if envelope.get("Type") == "Notification" else _CONFIRMATION_KEYS
    parts = []
    for key in keys:
        if key in envelope and envelope[key] is not None:
            parts.append(f"{key}\n{envelope[key]}\n")
    return "".join(parts).encode("utf-8")


def sns_attributes(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """SQS-style encoded attributes as SNS puts them in an envelope: {"Type", "Value"}."""
    out = {}
    for name, attr in attributes.items():
        if "BinaryValue" in attr:
            out[name] = {"Type": "Binary", "Value": base64.b64encode(attr["BinaryValue"]).decode()}
        else:
            out[name] = {"Type": attr["DataType"], "Value": attr["StringValue"]}
    return out


class Signer:
    """An RSA key and self-signed certificate for one data directory, made on first use."""

    def __init__(self, data_dir: Path, cert_url: str) -> None:
        self.key_path = Path(data_dir) / "sns-signing-key.pem"
        self.cert_path = Path(data_dir) / "sns-signing-cert.pem"
        self.cert_url = cert_url
        self._key: Any = None
        self._lock = threading.Lock()
        self._recent: dict[bytes, str] = {}  # SHA-256 of the string to sign -> signature, last few messages

    SIGNATURES_KEPT = 256

    def _load(self) -> Any:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        with self._lock:
            if self._key is not None:
                return self._key
            if self.key_path.exists() and self.cert_path.exists():
                self._key = serialization.load_pem_private_key(self.key_path.read_bytes(), None)
                return self._key
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.local.strato")])
            now = datetime.datetime.now(datetime.UTC)  # real time: real TLS / X.509 code checks the validity
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .sign(key, hashes.SHA256())
            )
            self.key_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.key_path.with_suffix(".tmp")
            tmp.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            tmp.chmod(0o600)
            tmp.replace(self.key_path)
            self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            self._key = key
            return key

    def certificate(self) -> bytes:
        self._load()
        return self.cert_path.read_bytes()

    def sign(self, envelope: dict[str, Any]) -> dict[str, Any]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        key = self._load()
        envelope["SignatureVersion"] = "2"
        envelope["SigningCertURL"] = self.cert_url
        text = string_to_sign(envelope)
        digest = hashlib.sha256(text).digest()  # a message may be 256 KB: keep its digest, not its text
        signature = self._recent.get(digest)
        if signature is None:  # RSA PKCS#1 v1.5 is deterministic: one message signed for several subscribers
            # (each handler and webhook delivery is signed when attempted) gets the same bytes, made once
            signature = base64.b64encode(key.sign(text, padding.PKCS1v15(), hashes.SHA256())).decode()
            with self._lock:  # deliveries sign from several threads
                if len(self._recent) >= self.SIGNATURES_KEPT:
                    self._recent.pop(next(iter(self._recent)), None)
                self._recent[digest] = signature
        envelope["Signature"] = signature
        return envelope


def _trusted(url: str, allow_local: bool) -> bool:
    parsed = urlparse(url)
    if parsed.scheme == "https" and _AWS_CERT_HOST.match(parsed.hostname or "") and parsed.path.endswith(".pem"):
        return True
    return (
        allow_local
        and parsed.scheme == "http"
        and parsed.hostname in ("127.0.0.1", "localhost")
        and parsed.path.startswith("/_strato/sns/")
    )


def verify(
    message: dict[str, Any] | str | bytes, *, allow_local: bool = False, certificate: bytes | None = None
) -> dict[str, Any]:
    """Check an SNS message's signature and return it parsed; raise SignatureError if it is not genuine.

    ``allow_local`` also trusts certificates served by ``strato dev`` on loopback; ``certificate``
    skips fetching (PEM bytes you already hold).
    """
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        envelope = json.loads(message) if isinstance(message, (str, bytes)) else dict(message)
    except json.JSONDecodeError as exc:
        raise SignatureError(f"not an SNS message: {exc}") from None
    version = envelope.get("SignatureVersion")
    if version not in ("1", "2"):
        raise SignatureError(f"unsupported SignatureVersion {version!r}")
    cert_url = envelope.get("SigningCertURL", "")
    if certificate is None:
        if not _trusted(cert_url, allow_local):
            raise SignatureError(f"signing certificate URL {cert_url!r} is not an SNS host")
        certificate = _cert_cache.get(cert_url)
        if certificate is None:
            from urllib.request import urlopen

            with urlopen(cert_url, timeout=5) as response:  # host checked just above
                certificate = response.read()
            _cert_cache[cert_url] = certificate
    try:
        public_key = x509.load_pem_x509_certificate(certificate).public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):  # SNS signs with RSA (PKCS#1 v1.5) only
            raise SignatureError(f"SNS signing certificate has a {type(public_key).__name__}, not an RSA key")
        signature = base64.b64decode(envelope.get("Signature", ""), validate=True)
        public_key.verify(
            signature,
            string_to_sign(envelope),
            padding.PKCS1v15(),
            hashes.SHA256() if version == "2" else hashes.SHA1(),
        )
    except SignatureError:
        raise
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError(f"SNS signature does not verify ({type(exc).__name__})") from None
    return envelope
