"""``strato backup`` / ``strato restore``: a consistent snapshot of the local data directory while
``strato dev`` runs, and its return (refused while a dev server or worker holds the folder)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click


def _data_dir(data: str | None) -> Path:
    return Path(data or os.environ.get("STRATO_DATA_DIR") or ".strato")


@click.command()
@click.option("--data", type=click.Path(file_okay=False), help="Data directory to back up (default ./.strato).")
@click.option(
    "--to",
    "target",
    type=click.Path(file_okay=False),
    help="New folder for the backup (default .strato-backups/<UTC time>).",
)
def backup(data: str | None, target: str | None) -> None:
    """Snapshot the local data (every database and object file, one instant), even while strato dev runs."""
    from .backup.local import backup as take
    from .core.errors import StratoError

    data_dir = _data_dir(data)
    destination = Path(target) if target else Path(".strato-backups") / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    try:
        snap = take(data_dir, destination)
    except (StratoError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"backed up {data_dir} to {snap.path}: {len(snap.databases)} databases, {snap.objects} object files, "
        f"{snap.files} other files, {snap.bytes:,} bytes (writers paused {snap.locked_ms:.1f} ms)"
    )


@click.command()
@click.argument("source", metavar="DIR", type=click.Path(file_okay=False, exists=True))
@click.option("--data", type=click.Path(file_okay=False), help="Data directory to replace (default ./.strato).")
def restore(source: str, data: str | None) -> None:
    """Replace the local data by the backup in DIR. Stop strato dev / strato worker first: it refuses while
    they run. The replaced data is kept beside it as <data>.before-restore."""
    from .backup.local import restore as bring_back
    from .core.errors import StratoError

    data_dir = _data_dir(data)
    try:
        kept = bring_back(Path(source), data_dir)
    except (StratoError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {source} into {data_dir} (the data it replaced is in {kept})")
