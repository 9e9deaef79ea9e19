"""The per-data-dir secret of ``strato dev``'s private endpoints (``/_strato/...``).

API Gateway's ``@connections`` API and EventBridge need AWS credentials; locally, a random secret in
``<data>/internal-secret`` (mode 0600) stands in for them. ``strato dev`` checks it on every private
internal endpoint; ``strato worker``, the local WebSocket backend and scripts read it from the same
file and send it as the ``x-strato-secret`` header. Anyone who can read the data directory can
already read every table, so the file's permissions are the boundary.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

HEADER = "x-strato-secret"
FILENAME = "internal-secret"


def internal_secret(data_dir: Path) -> str:
    """The data dir's secret, created (randomly, 0600, atomically) on first use."""
    data_dir = Path(data_dir)
    path = data_dir / FILENAME
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    temp = data_dir / f".{FILENAME}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
        with contextlib.suppress(FileExistsError):  # another process won the race: use its secret
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    if path.stat().st_mode & 0o077:  # never leave it readable by others
        path.chmod(0o600)
    value = path.read_text().strip()
    if not value:
        raise FileNotFoundError(path)
    return value


def internal_headers(data_dir: Path) -> dict[str, str]:
    """The header a client of the private internal endpoints sends."""
    return {HEADER: internal_secret(data_dir)}
