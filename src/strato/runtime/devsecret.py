"""The per-data-dir secret of ``strato dev``'s private endpoints (``/_strato/...``).

API Gateway's ``@connections`` API and EventBridge need AWS credentials; locally, a random secret in
``<data>/internal-secret`` (mode 0600) stands in for them. ``strato dev`` checks it on every private
internal endpoint; ``strato worker``, the local WebSocket backend and scripts read it from the same
file and send it as the ``x-strato-secret`` header. Anyone who can read the data directory can
already read every table, so the file's permissions are the boundary.
"""

from __future__ import annotations

from pathlib import Path

from .secrets import local_secret

HEADER = "x-strato-secret"
FILENAME = "internal-secret"


def internal_secret(data_dir: Path) -> str:
    """The data dir's secret, created (randomly, 0600, once even when processes race) on first use."""
    path = Path(data_dir) / FILENAME
    if path.exists() and path.stat().st_mode & 0o077:  # never leave it readable by others
        path.chmod(0o600)
    return local_secret(Path(data_dir), FILENAME).hex()


def internal_headers(data_dir: Path) -> dict[str, str]:
    """The header a client of the private internal endpoints sends."""
    return {HEADER: internal_secret(data_dir)}
