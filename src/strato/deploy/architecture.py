"""arm64 or x86_64: which Lambda architecture the package can run on.

strato prefers arm64 (Graviton: a lower price per GB-second for the same work). Every function shares
one package, so one dependency without an arm64 build makes the whole package x86_64. How it is told:

1. no dependency beyond strato and boto3 (both pure Python, boto3 in the Lambda runtime): arm64;
2. every requirement is a name (with a version range) whose installed distribution here is a pure-Python
   wheel (``Root-Is-Purelib: true``, tag ``py3-none-any``): arm64 without asking the index;
3. otherwise pip resolves the requirements for ``manylinux2014_aarch64`` / CPython 3.12, wheels only, as
   ``strato package`` would install them (``--dry-run``): it succeeds -> arm64; "no matching distribution
   for X" -> x86_64 because of X (a native extension published for x86_64 only);
4. after installing, ``scan`` reads the ELF header of every shared object in the package: an x86-64
   library in an arm64 package (or the reverse) is refused rather than deployed to fail at import.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ConfigurationError

PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
ELF_MACHINES = {62: "x86_64", 183: "arm64"}  # e_machine: EM_X86_64, EM_AARCH64
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([<>=!~;,. 0-9a-zA-Z*'\"]*)$")
_MISSING = re.compile(r"No matching distribution found for ([A-Za-z0-9._-]+)")


@dataclass(frozen=True)
class Decision:
    architecture: str
    reason: str
    portable: bool = False  # no native code: any function may run it on either architecture


def requirement_lines(app: Any) -> tuple[list[str], Path | None]:
    """The app's requirements.txt lines and what its resources need at run time; and its directory."""
    from .package import runtime_requirements

    root = app_root(app)
    lines: list[str] = []
    if root is not None and (root / "requirements.txt").is_file():
        lines = (root / "requirements.txt").read_text().splitlines()
    lines = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return [*lines, *runtime_requirements(app)], root


def app_root(app: Any) -> Path | None:
    """The directory of the module that declares ``app`` (where its requirements.txt lives)."""
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and any(value is app for value in list(vars(module).values())):
            return Path(file).resolve().parent
    return None


def for_app(app: Any) -> Decision:
    lines, root = requirement_lines(app)
    forced = getattr(getattr(app, "function_defaults", None), "architecture", None)
    try:
        decided = decide(lines, root)
    except ConfigurationError:
        if not forced:
            raise
        return Decision(forced, "set by app.functions(architecture=...); pip could not check the dependencies")
    if forced and forced != decided.architecture:
        if not decided.portable:
            raise ConfigurationError(f"app.functions(architecture={forced!r}): the package cannot be: {decided.reason}")
        return Decision(forced, "set by app.functions(architecture=...)", True)
    return decided


def decide(lines: list[str], cwd: Path | None = None) -> Decision:
    if not lines:
        return Decision("arm64", "no dependencies beyond strato and boto3, which are pure Python", True)
    if all(_pure_here(line) for line in lines):
        return Decision("arm64", "every dependency is a pure-Python wheel (as installed here)", True)
    result = _resolve(lines, "arm64", cwd)
    if result.returncode == 0:
        return Decision("arm64", "every dependency has an aarch64 (or pure-Python) wheel for CPython 3.12")
    missing = _MISSING.search(result.stderr)
    if missing is None:
        raise ConfigurationError(
            "cannot tell whether the dependencies run on arm64 (pip could not resolve them for "
            f"manylinux2014_aarch64):\n{result.stderr[-1500:]}\nSet app.functions(architecture=...) to choose"
        )
    if _resolve(lines, "x86_64", cwd).returncode != 0:
        raise ConfigurationError(f"{missing.group(1)} has no Lambda wheel for CPython 3.12 on either architecture")
    return Decision("x86_64", f"{missing.group(1)} has no manylinux aarch64 wheel for CPython 3.12")


def _pure_here(line: str) -> bool:
    """Whether a plain requirement names a distribution installed here as a pure-Python wheel."""
    from importlib import metadata

    match = _NAME.match(line)
    if match is None or line.lstrip().startswith("-"):
        return False
    try:
        dist = metadata.distribution(match.group(1))
    except metadata.PackageNotFoundError:
        return False
    wheel = dist.read_text("WHEEL") or ""
    tags = [v.strip() for k, _, v in (row.partition(":") for row in wheel.splitlines()) if k.strip() == "Tag"]
    return "Root-Is-Purelib: true" in wheel and bool(tags) and all(t.endswith("-none-any") for t in tags)


def _resolve(lines: list[str], architecture: str, cwd: Path | None) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text("\n".join(lines) + "\n")
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--quiet",
                "--ignore-installed",
                "--target",
                str(Path(tmp) / "site"),
                *pip_platform(architecture),
                "-r",
                str(requirements),
            ],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=300,
        )


def pip_platform(architecture: str) -> list[str]:
    """pip's options for Lambda's platform: manylinux wheels of CPython 3.12 for ``architecture``."""
    from .package import LAMBDA_PYTHON

    return [
        "--platform",
        PLATFORMS[architecture],
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON,
        "--only-binary=:all:",
    ]


def scan(site: Path) -> dict[str, list[str]]:
    """Architecture -> the shared objects built for it under ``site`` (ELF headers; others ignored)."""
    found: dict[str, list[str]] = {}
    for path in sorted(site.rglob("*.so*")):
        if not path.is_file():
            continue
        with path.open("rb") as f:
            header = f.read(20)
        if len(header) < 20 or header[:4] != b"\x7fELF":
            continue
        machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
        if machine in ELF_MACHINES:
            found.setdefault(ELF_MACHINES[machine], []).append(path.relative_to(site).as_posix())
    return found


def check_installed(site: Path, architecture: str) -> None:
    """Refuse a package holding native code built for the other architecture."""
    other = {a: files for a, files in scan(site).items() if a != architecture}
    for arch, files in other.items():
        raise ConfigurationError(
            f"the {architecture} package holds {arch} native code ({', '.join(files[:3])}); "
            f"set app.functions(architecture={arch!r}) or use a dependency with a {architecture} wheel"
        )
