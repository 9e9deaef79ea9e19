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
