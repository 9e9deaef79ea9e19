"""Where ``strato dev`` serves ``/_strato/``: URLs local providers hand out (presigned objects,
SubscribeURLs, JWKS, signalling) must point at the running dev server."""

from __future__ import annotations

import os
from pathlib import Path


def dev_url(data_dir: Path) -> str:
    """Where `strato dev` serves /_strato/ (for SubscribeURL and the signing certificate)."""
    if os.environ.get("STRATO_DEV_URL"):
        return os.environ["STRATO_DEV_URL"].rstrip("/")
    marker = Path(data_dir) / "dev-url"
    return marker.read_text().strip() if marker.exists() else "http://127.0.0.1:8000"
