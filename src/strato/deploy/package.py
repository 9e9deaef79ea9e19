"""``strato package``: the Lambda zip, byte-reproducible.

It holds the app's directory (without tests, caches and local data), the strato package, the
dependencies of the app's ``requirements.txt`` installed for the Lambda platform (manylinux arm64, or
x86_64 when a dependency needs it: deploy/architecture.py; CPython 3.12, wheels only), and
``strato_entry.py``, the handler every function points at. Entries
are sorted and stamped 1980-01-01 with fixed permissions, so the same inputs give the same bytes
and the same hash (the key it is uploaded under).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from ..core.config import DATA_MARKER
from ..core.errors import ConfigurationError

EXCLUDED_DIRS = {
    "__pycache__",
    ".strato",
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "tests",
    "test",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
    "build",
    "dist",
}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".zip", ".log", ".pid")
EXCLUDED_FILES = {"template.json", ".stratoignore"}  # `strato synth -o template.json`, the ignore file itself
IGNORE_FILE = ".stratoignore"  # one glob a line (``#`` comments), matched against paths relative to the app
LAMBDA_PYTHON = "3.12"


def _is_test(path: Path) -> bool:
    name = path.name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def app_location(spec: str) -> tuple[Path, str, str]:
    """(app directory, module name, attribute) of an APP spec: ``path/app.py[:attr]`` or ``module:attr``."""
    target, _, attr = spec.partition(":")
    if target.endswith(".py") or "/" in target:
        path = Path(target).resolve()
        if not path.is_file():
            raise ConfigurationError(f"no such file: {target}")
        return path.parent, path.stem, attr
    found = importlib.util.find_spec(target)
    if found is None or not found.origin:
        raise ConfigurationError(f"cannot find module {target!r}")
    origin = Path(found.origin)
    depth = target.count(".") + (1 if origin.name == "__init__.py" else 0)
    root = origin.parent
    for _ in range(depth):
        root = root.parent
    return root, target, attr


def _ignored(root: Path) -> list[str]:
    ignore = root / IGNORE_FILE
    if not ignore.is_file():
        return []
    lines = (line.strip() for line in ignore.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def _files(root: Path, skip_tests: bool = True, app: bool = True) -> list[tuple[str, Path]]:
    """The files of ``root`` to package: no caches, local data (a folder holding strato's data marker),
    logs, pid files, templates, tests (for the app) or what the app's ``.stratoignore`` names."""
    from fnmatch import fnmatch

    patterns = _ignored(root) if app else []
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in EXCLUDED_DIRS
            and not d.endswith(".egg-info")
            and not (here / d / DATA_MARKER).exists()
            and not any(fnmatch((here / d).relative_to(root).as_posix(), p) for p in patterns)
        )
        for filename in sorted(filenames):
            path = here / filename
            relative = path.relative_to(root).as_posix()
            if (
                path.suffix in EXCLUDED_SUFFIXES
                or (app and filename in EXCLUDED_FILES)
                or (skip_tests and _is_test(path))
                or filename.startswith(".env")
                or any(fnmatch(relative, p) or fnmatch(filename, p) for p in patterns)
            ):
                continue
            out.append((relative, path))
    return out


def runtime_requirements(app: Any) -> list[str]:
    """What the app's resources import at run time beyond strato and boto3 (which Lambda's runtime has):
    each kind's ``deploy.py`` may name its packages (``requirements(resource)``)."""
    from .synth import deploy_module

    found: set[str] = set()
    for resource in app.resources.values():
        named = getattr(deploy_module(resource), "requirements", None)
        if named is not None:
            found.update(named(resource))
    return sorted(found)


def _dependencies(requirements: Path, target: Path, architecture: str, cwd: Path) -> None:
    from .architecture import check_installed, pip_platform

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--target",
            str(target),
            *pip_platform(architecture),
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        cwd=cwd,  # relative --find-links in requirements.txt mean the app's directory
    )
    if result.returncode != 0:
        raise ConfigurationError(f"installing {requirements} for Lambda failed:\n{result.stderr[-2000:]}")
    check_installed(target, architecture)


def _requirements(root: Path, spec: str, tmp: Path) -> Path | None:
    """The app's requirements.txt plus what its resources need at run time, as one file to install."""
    from ..loader import load_app

    lines = (root / "requirements.txt").read_text().splitlines() if (root / "requirements.txt").exists() else []
    needed = runtime_requirements(load_app(spec))
    if not lines and not needed:
        return None
    combined = tmp / "requirements.txt"
    combined.write_text("\n".join([*lines, *needed]) + "\n")
    return combined


def entry_source(module: str, attr: str) -> str:
    lookup = (
        f'getattr(_module, "{attr}")'
        if attr
        else 'next(v for v in vars(_module).values() if type(v).__name__ == "App")'
    )
    return (
        f'"""Lambda entry point written by `strato package`: every function calls app.lambda_handler."""\n\n'
        f"import importlib\n\n_module = importlib.import_module({module!r})\napp = {lookup}\n"
        "handler = app.lambda_handler\n"
    )


def build(spec: str, output: Path, architecture: str | None = None) -> tuple[Path, str]:
    """Write the package for ``architecture`` (None: the one deploy/architecture.py decides); returns
    (path, sha256 hex)."""
    import strato

    root, module, attr = app_location(spec)
    entries: dict[str, bytes | Path] = {}
    for name, path in _files(root):
        entries[name] = path
    strato_root = Path(strato.__file__).resolve().parent
    for name, path in _files(strato_root, skip_tests=False, app=False):
        entries[f"strato/{name}"] = path
    with tempfile.TemporaryDirectory() as tmp:
        requirements = _requirements(root, spec, Path(tmp))
        if requirements is not None:
            target = Path(tmp) / "site"
            if architecture is None:
                from ..loader import load_app
                from .architecture import for_app

                architecture = for_app(load_app(spec)).architecture
            _dependencies(requirements, target, architecture, root)
            for name, path in _files(target, skip_tests=False, app=False):
                entries.setdefault(name, path)
        entries["strato_entry.py"] = entry_source(module, attr).encode()
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp_zip = output.with_suffix(".tmp")
        with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                data = entries[name]
                archive.writestr(info, data if isinstance(data, bytes) else data.read_bytes(), compresslevel=9)
        tmp_zip.replace(output)
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    return output, digest
