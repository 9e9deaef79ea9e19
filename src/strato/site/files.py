"""How a site's files are described on the wire, the same under ``strato dev`` and on S3 + CloudFront:
content types, Cache-Control, which responses CloudFront compresses, and the path rule that keeps
every request inside the directory."""

from __future__ import annotations

import re

# Types for what front-end builds emit, fixed here so the answer does not depend on /etc/mime.types.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    ".wasm": "application/wasm",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".pdf": "application/pdf",
}
FALLBACK_TYPE = "application/octet-stream"

# The Content-Type values CloudFront compresses, and the sizes it compresses: "File types that
# CloudFront compresses" and "Conditions for compression" (1,000 to 10,000,000 bytes, Content-Length
# known, no Content-Encoding already) in the CloudFront Developer Guide, "Serve compressed files"
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/ServingCompressedFiles.html).
COMPRESSIBLE = frozenset(
    (
        "application/dash+xml",
        "application/eot",
        "application/font",
        "application/font-sfnt",
        "application/javascript",
        "application/json",
        "application/opentype",
        "application/otf",
        "application/pkcs7-mime",
        "application/protobuf",
        "application/rss+xml",
        "application/truetype",
        "application/ttf",
        "application/vnd.apple.mpegurl",
        "application/vnd.ms-fontobject",
        "application/xhtml+xml",
        "application/xml",
        "application/x-font-opentype",
        "application/x-font-truetype",
        "application/x-font-ttf",
        "application/x-httpd-cgi",
        "application/x-javascript",
        "application/x-mpegurl",
        "application/x-opentype",
        "application/x-otf",
        "application/x-perl",
        "application/x-ttf",
        "font/eot",
        "font/opentype",
        "font/otf",
        "font/ttf",
        "image/svg+xml",
        "text/css",
        "text/csv",
        "text/html",
        "text/javascript",
        "text/js",
        "text/plain",
        "text/richtext",
        "text/tab-separated-values",
        "text/xml",
        "text/x-component",
        "text/x-java-source",
        "text/x-script",
        "vnd.apple.mpegurl",
    )
)
MIN_COMPRESS = 1_000
MAX_COMPRESS = 10_000_000

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# A bundler's content hash before the extension: Vite / Rollup ``index-BxYz12_a.js`` (8 characters),
# webpack ``main.3f9a1c2e.js``. It must hold a digit, or be Rollup's 8 characters in both cases, so a
# plain word (``app-settings.js``) is not mistaken for one.
_HASHED = re.compile(r"[.-]([A-Za-z0-9_]{8,})(?:\.[A-Za-z0-9]+)+$")


_REFUSED = re.compile(r"[\x00-\x1f\x7f\\]")  # control characters, NUL and backslashes


def content_type(name: str) -> str:
    dot = name.rfind(".")
    return CONTENT_TYPES.get(name[dot:].lower(), FALLBACK_TYPE) if dot > name.rfind("/") else FALLBACK_TYPE


def is_hashed(name: str) -> bool:
    """Whether a file's name carries its content hash (so its bytes never change under that name)."""
    match = _HASHED.search(name.rsplit("/", 1)[-1])
    if match is None:
        return False
    token = match.group(1)
    mixed = len(token) == 8 and token.lower() != token and token.upper() != token
    return mixed or (any(c.isdigit() for c in token) and any(c.isalpha() for c in token))


def cache_control(name: str) -> str:
    """Hashed assets are immutable for a year; HTML and every other name revalidate on each use (a
    deploy changes them under the same name)."""
    return IMMUTABLE if is_hashed(name) and not name.endswith((".html", ".htm")) else REVALIDATE


def compressible(ctype: str, size: int) -> bool:
    """Whether CloudFront would compress this response (its types and its size window)."""
    return MIN_COMPRESS <= size <= MAX_COMPRESS and ctype.split(";", 1)[0].strip().lower() in COMPRESSIBLE


def safe_parts(path: str) -> list[str] | None:
    """The segments of a request path (already percent-decoded once), or None when it could leave the
    directory or name something no bucket key should: ``..`` / ``.`` segments, backslashes, NUL,
    control characters. Decoding happens once, so ``%252e`` stays a literal name."""
    if _REFUSED.search(path):
        return None
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        return None
    return parts
