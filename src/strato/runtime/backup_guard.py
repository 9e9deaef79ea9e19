"""What the local runtime does for ``strato backup`` / ``strato restore`` running beside it.

- While a backup copies object files, a pin file (``backup.pin``) in the data directory makes the bucket
  provider move a file it would delete into a ``retired/`` folder instead: an object replaced or deleted
  after the backup's snapshot keeps its bytes until the backup has copied them. The provider checks the
  pin after committing the change that frees the file, and the backup creates the pin before taking its
  snapshot, so a file the snapshot names is never gone before it is copied.
- ``strato dev`` and ``strato worker`` hold a shared lock on ``running.lock`` for as long as they run;
  ``strato restore`` takes it exclusively (without waiting), so it refuses while either holds the folder.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

PIN = "backup.pin"
RUNNING_LOCK = "running.lock"
RETIRED = "retired"
_held: list[IO[Any]] = []  # the lock files this process holds shared (open for its lifetime)


def pinned(data_dir: str | os.PathLike[str]) -> bool:
    return os.path.exists(os.path.join(data_dir, PIN))


def discard(path: str, data_dir: str | os.PathLike[str], retired_dir: str) -> None:
    """Delete an object file, or retire it while a backup runs (a missing file is not an error)."""
    try:
        if pinned(data_dir):
            os.makedirs(retired_dir, exist_ok=True)
            os.replace(path, os.path.join(retired_dir, os.path.basename(path)))
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


@contextlib.contextmanager
def pin(data_dir: Path) -> Iterator[Path]:
    """The pin for one backup at a time; a pin left by a backup that died (its pid gone) is taken over."""
    path = data_dir / PIN
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            if _alive(path):
                raise RuntimeError(f"another backup of {data_dir} is running ({path} exists)") from None
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as out:
            out.write(str(os.getpid()))
        break
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _alive(pin_path: Path) -> bool:
    try:
        pid = int(pin_path.read_text() or "0")
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, FileNotFoundError):
        return False
    except PermissionError:
        return True
    return pid > 0


def hold_shared(data_dir: Path) -> None:
    """Mark ``data_dir`` as in use by this process until it exits (strato dev, strato worker)."""
    import fcntl

    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / RUNNING_LOCK, "a")  # noqa: SIM115 - held for the process's lifetime
    fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
    _held.append(handle)


@contextlib.contextmanager
def exclusive(data_dir: Path) -> Iterator[None]:
    """Hold ``data_dir`` alone; RuntimeError at once if a dev server or worker is using it."""
    import fcntl

    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / RUNNING_LOCK, "a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(
                f"{data_dir} is in use by a running `strato dev` or `strato worker`: stop it, then restore"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
