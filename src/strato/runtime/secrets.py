"""Per-data-dir secrets for what the local providers sign (presigned URLs, table cursors).

A secret is 32 random bytes in a file beside the data, created once with mode 0600 (``O_EXCL``, so two
processes sharing the data agree on one secret: the loser of the race reads the winner's file).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

SECRET_BYTES = 32


def local_secret(data_dir: Path, name: str) -> bytes:
    """The secret stored as ``<data_dir>/<name>``, created (0600) on first use."""
    path = Path(data_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    try:
        os.write(fd, os.urandom(SECRET_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    return _read(path)


def _read(path: Path) -> bytes:
    for _ in range(50):  # another process created the file and may not have written it yet
        secret = path.read_bytes()
        if len(secret) >= SECRET_BYTES:
            return secret
        time.sleep(0.01)
    raise RuntimeError(f"{path} holds no secret: delete it to have a new one made")


_process_key: bytes | None = None


def cursor_key(provider: str, data_dir: Path) -> bytes:
    """The key table cursors are signed with.

    Locally: a file beside the data (``cursor-signing.key``), so `strato dev` and `strato worker` accept
    each other's cursors. On AWS: ``STRATO_CURSOR_KEY``, which the synthesised template sets for every
    function from one generated secret. Without it (an app run against AWS from a laptop or a test) the
    key is random per process: cursors still cannot be forged, but one process cannot continue a listing
    another process started.
    """
    global _process_key
    if provider == "local":
        return local_secret(data_dir, "cursor-signing.key")
    configured = os.environ.get("STRATO_CURSOR_KEY")
    if configured:
        return configured.encode("utf-8")
    if _process_key is None:
        _process_key = os.urandom(SECRET_BYTES)
    return _process_key
