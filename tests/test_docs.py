"""The docs cannot drift: every ```python block in README.md and docs/ runs, and the site builds.

Blocks of one page run in order in one namespace (a page declares ``app`` once and later blocks use
it), in a fresh directory on the local provider. A block that needs a real service says so on the line
right before its fence, ``<!-- needs: redis -->`` (or ``postgres``, ``moto``), and gets it from the
fixtures in conftest.py; a block that truly cannot run says ``<!-- no-run: why -->`` and is skipped,
but only a few may.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES, ROOT

DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.rglob("*.md")])
SERVICES = ("redis", "postgres", "moto")
MAX_NO_RUN_SHARE = 0.10
# settings that would point a snippet at something other than a fresh local data directory
FOREIGN_ENV = ("REDIS_URL", "ELASTICACHE_ENDPOINT", "USE_ELASTICACHE", "REDIS_TLS", "DATABASE_URL")
KEEP_ENV = ("STRATO_REQUIRE_SERVICES", "STRATO_TEST_REDIS_URL", "STRATO_TEST_POSTGRES_URL")
# what a page may have created on a shared server (conftest's make_app drops the same kinds)
DROPPABLE = ("table", "kv", "cache", "queue", "topic", "sql", "user_pool")

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
_MARKER = re.compile(r"^<!--\s*(?P<kind>no-run|needs)\s*:\s*(?P<value>.*?)\s*-->$")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the block's first line of code
    lang: str
    source: str
    marker: str | None = None  # "no-run" or "needs"
    value: str = ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT).as_posix()}:{self.line}"

    @property
    def is_python(self) -> bool:
        return self.lang in ("python", "py")

    @property
    def needs(self) -> list[str]:
        return [s.strip() for s in self.value.split(",") if s.strip()] if self.marker == "needs" else []


def fenced_blocks(page: Path) -> list[Block]:
    """Every fenced block of a page with the marker comment on the line right before its fence."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        end = i + 1
        while end < len(lines) and not re.fullmatch(rf"\s*{re.escape(fence[0])}{{{len(fence)},}}\s*", lines[end]):
            end += 1
        body = [
            line[indent:] if not indent or line[:indent].isspace() else line.lstrip() for line in lines[i + 1 : end]
        ]
        marker = _MARKER.match(lines[i - 1].strip()) if i > 0 else None
        kind, value = (marker["kind"], marker["value"]) if marker else (None, "")
        blocks.append(Block(page, i + 2, opening["info"].lower(), "\n".join(body) + "\n", kind, value))
        i = end + 1
    return blocks


def python_blocks(page: Path) -> list[Block]:
    return [b for b in fenced_blocks(page) if b.is_python]


def page_id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


RUNNABLE_PAGES = [p for p in PAGES if python_blocks(p)]


def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh directory and the local provider; conftest.py already made AWS unreachable."""
    for name in list(os.environ):
        if (name.startswith("STRATO_") and name not in KEEP_ENV) or name in FOREIGN_ENV:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path / ".strato"))


def _provide(services: set[str], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The real servers a page asks for, through conftest's fixtures; returns the missing ones with the reason.

    Without a server only the blocks that need it are left out (the page's other blocks still run); under
    STRATO_REQUIRE_SERVICES=1 the fixtures fail instead.
    """
    if not services:
        return {}
    # servers outlive the test: a stage of its own keeps this run's names apart from earlier runs'
    monkeypatch.setenv("STRATO_STAGE", f"d{uuid.uuid4().hex[:8]}")
    missing = {}
    for service in sorted(services):
        try:
            if service == "redis":
                monkeypatch.setenv("REDIS_URL", request.getfixturevalue("redis_url"))
            elif service == "postgres":
                request.getfixturevalue("postgres_schema")  # sets STRATO_SQL_MAIN_URL to a fresh schema
                monkeypatch.setenv("DATABASE_URL", os.environ["STRATO_SQL_MAIN_URL"])
            elif service == "moto":
                request.getfixturevalue("moto_server")  # AWS_ENDPOINT_URL now points at it
        except pytest.skip.Exception as skipped:
            missing[service] = str(skipped)
    return missing


def _clean_up(namespace: dict, drop: bool) -> None:
    """Stop workers and close apps a page left behind; on shared servers also drop what it created."""
    import strato

    worker_cls = getattr(sys.modules.get("strato.local.worker"), "Worker", None)
    for value in list(namespace.values()):
        if worker_cls is not None and isinstance(value, worker_cls):
            value.stop(grace=5)
    for value in list(namespace.values()):
        if not isinstance(value, strato.App):
            continue
        if drop:
            for (kind, _), resource in list(value.resources.items()):
                if kind in DROPPABLE and resource._backend is not None:
                    try:
                        resource.drop()
                    except Exception:
                        pass  # best effort: the unique stage already keeps the next run apart
        value.close()


def _forget(tmp_path: Path, environ: dict[str, str], path: list[str]) -> None:
    """Undo what a page did to the process: environment, sys.path, and modules loaded from its directory."""
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


# the test client of the Starlette release in use warns about httpx; it is the docs' way in, not a fault
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
@pytest.mark.timeout(120)
@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=page_id)
def test_python_blocks_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Run a page's python blocks in order, in one namespace, as a reader would paste them."""
    blocks = [b for b in python_blocks(page) if b.marker != "no-run"]
    services = {s for b in blocks for s in b.needs}
    _isolate(tmp_path, monkeypatch)
    missing = _provide(services, request, monkeypatch)
    left_out = [b for b in blocks if set(b.needs) & set(missing)]
    blocks = [b for b in blocks if b not in left_out]
    environ, path = dict(os.environ), list(sys.path)
    import types

    page_module = types.ModuleType("__docs__")  # a real module: libraries that look classes up by module
    namespace: dict = page_module.__dict__  # (Strawberry resolves annotations there) find the page's names
    monkeypatch.setitem(sys.modules, "__docs__", page_module)
    try:
        for block in blocks:
            # padded so tracebacks name the markdown file and its real line numbers
            code = compile("\n" * (block.line - 1) + block.source, str(block.page), "exec")
            try:
                exec(code, namespace)
            except BaseException as exc:
                exc.add_note(f"in the python block at {block.where}")
                raise
    finally:
        _clean_up(namespace, drop=bool(services))
        _forget(tmp_path, environ, path)
    if left_out:
        pytest.skip(f"ran all but {', '.join(b.where for b in left_out)}: {'; '.join(missing.values())}")


def test_markers_are_known_and_on_python_blocks() -> None:
    """A misspelt marker would silently run (or skip) the wrong thing."""
    problems = []
    for page in PAGES:
        for block in fenced_blocks(page):
            if block.marker and not block.is_python:
                problems.append(f"{block.where}: a {block.marker} marker on a {block.lang or 'plain'} block")
            if block.marker == "no-run" and not block.value:
                problems.append(f"{block.where}: no-run needs a reason")
            if block.marker == "needs" and (not block.needs or set(block.needs) - set(SERVICES)):
                problems.append(f"{block.where}: needs {block.value!r}; known services are {', '.join(SERVICES)}")
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if "<!--" in line and re.search(r"no-run|needs", line) and not _MARKER.match(line.strip()):
                problems.append(f"{page_id(page)}:{number}: malformed marker {line.strip()!r}")
    assert not problems, "\n".join(problems)


def test_few_blocks_are_no_run() -> None:
    """Skipping is the exception: a snippet that cannot run should be rewritten so it can."""
    blocks = [b for page in PAGES for b in python_blocks(page)]
    skipped = [b.where for b in blocks if b.marker == "no-run"]
    assert len(blocks) >= 40, f"only {len(blocks)} python blocks found: is the parser broken?"
    assert len(skipped) <= MAX_NO_RUN_SHARE * len(blocks), f"{len(skipped)} of {len(blocks)} marked no-run: {skipped}"


def test_every_primitive_page_runs_code() -> None:
    """The reference pages are where drift hurts most: each must execute at least one block."""
    pages = sorted((DOCS / "primitives").glob("*.md"))
    assert pages, "docs/primitives/ is empty"
    idle = [page_id(p) for p in pages if not [b for b in python_blocks(p) if b.marker != "no-run"]]
    assert not idle, f"primitive pages without an executed python block: {idle}"


def test_readme_links_to_docs_exist() -> None:
    """The README is the entry point to the docs: its relative links must not dangle."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"^[a-z][a-z0-9+.-]*:|#", t)]
    assert any(t.startswith("docs/") for t in targets), "README.md links to nothing under docs/"
    missing = [t for t in targets if not (ROOT / t.split("#", 1)[0]).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_mkdocs_build_is_strict_clean(tmp_path: Path) -> None:
    """``mkdocs build --strict`` turns broken links, unlisted pages and bad config into failures."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        message = "mkdocs-material is not installed (pip install -e '.[docs]')"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message}, but STRATO_REQUIRE_SERVICES=1 requires it")
        pytest.skip(message)
    site = tmp_path / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life notice, not about these docs
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert not re.search(r"^\s*WARNING\b", out.stderr, re.MULTILINE), out.stderr
    assert (site / "index.html").is_file()
