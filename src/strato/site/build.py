"""``build=``: the front end's own build command, run in the declaring file's directory before
``strato dev`` serves the site and before ``strato deploy`` uploads it."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from ..core.errors import ConfigurationError

if TYPE_CHECKING:
    from . import Site


def run_build(site: Site) -> None:
    """Run ``site.build`` (a shell command such as ``npm run build``); its output ends a failure's message."""
    done = subprocess.run(str(site.build), shell=True, cwd=site.base, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        raise ConfigurationError(f"site {site.name!r}: build {site.build!r} failed (exit {done.returncode}):\n{tail}")
    site.check_directory()
