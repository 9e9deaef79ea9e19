"""`strato dev --reload` with a build= site: a saved source reruns the build (debounced), the next request
serves the new files, a failing build is reported once while the last good build keeps being served
(even though the failed build wiped its output directory), and writes to the output directory,
node_modules or dot folders build nothing. The build is a small Python script, so it takes milliseconds."""

from __future__ import annotations

import sys
import time

import httpx
import pytest

from tests.conftest import start_dev_server, stop

BUILD = """
import pathlib, shutil, sys
root = pathlib.Path(__file__).parent
with open(root / ".builds", "a") as count:  # a dot file: never a source
    count.write("x")
shutil.rmtree(root / "dist", ignore_errors=True)  # as bundlers empty their output first
if (root / "src" / "broken").exists():
    print("boom: src/broken says so", file=sys.stderr)
    sys.exit(3)
(root / "dist").mkdir()
for source in (root / "src").glob("*.txt"):
    shutil.copy(source, root / "dist" / source.name)
"""


def app_source() -> str:
    command = f"{sys.executable} build.py"
    return f"import strato\napp = strato.App('rebuilt')\nsite = app.site('web', directory='dist', build={command!r})\n"


def until(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "page.txt").write_text("v1")
    (tmp_path / "build.py").write_text(BUILD)
    (tmp_path / "site_app.py").write_text(app_source())
    server = start_dev_server(str(tmp_path / "site_app.py"), tmp_path / "data", "--reload")
    yield server, tmp_path
    stop(server.proc)


def builds(root) -> int:
    return len((root / ".builds").read_text())


def test_a_saved_source_rebuilds_and_a_broken_build_keeps_the_last_good_one(project):
    server, root = project
    get = lambda: httpx.get(f"{server.url}/page.txt").text  # noqa: E731
    assert get() == "v1"
    (root / "src" / "page.txt").write_text("v2")
    until(lambda: get() == "v2")

    (root / "src" / "broken").write_text("")
    until(lambda: "boom: src/broken says so" in server.log.read_text())
    assert not (root / "dist").exists()  # the failed build emptied its output ...
    assert get() == "v2"  # ... and the last good build is still served
    before = builds(root)
    (root / "src" / "page.txt").write_text("v3")  # fails again, the same way: said once
    until(lambda: builds(root) > before)
    time.sleep(0.5)
    assert server.log.read_text().count("boom: src/broken says so") == 1
    assert get() == "v2"

    (root / "src" / "broken").unlink()
    until(lambda: get() == "v3")


def test_output_node_modules_and_dot_folders_build_nothing(project):
    server, root = project
    start = builds(root)
    (root / "dist" / "stray.txt").write_text("written by hand")
    (root / "node_modules" / "pkg").mkdir(parents=True)
    (root / "node_modules" / "pkg" / "index.js").write_text("x")
    (root / ".cache").mkdir()
    (root / ".cache" / "state").write_text("x")
    time.sleep(1.5)  # five debounce windows
    assert builds(root) == start
    (root / "src" / "a.txt").write_text("a")
    (root / "src" / "b.txt").write_text("b")  # one burst: one build
    until(lambda: httpx.get(f"{server.url}/b.txt").status_code == 200)
    time.sleep(0.8)
    assert builds(root) == start + 1
    assert httpx.get(f"{server.url}/stray.txt").status_code == 404  # served from the build, not the folder
