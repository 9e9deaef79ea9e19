"""The dev loop: how long from a save until the new code answers, for an app of 20 modules.

``strato dev --reload`` swaps the code in the running process (WebSockets stay open); the baseline,
measured in the same run, is what a restarting reloader costs: a cold ``strato dev`` started after the
save, until it answers with the new code. Both poll a route that returns the version saved.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .support import ROOT, Row, free_port, process, wait_port

MODULES = 20  # app.py, core.py, version.py and 17 modules of routes, tables and consumers

CORE = """\
import strato

app = strato.App("bigapp")
api = app.http()
"""

FEATURE = """\
from core import api, app
from version import VERSION

items_{n} = app.table("items{n}", key="id")
work_{n} = app.queue("work{n}")


@api.get("/f{n}/{{id}}")
def get_{n}(req):
    return items_{n}.get(req.params["id"]) or (404, {{"message": "no such item"}})


@api.put("/f{n}/{{id}}")
def put_{n}(req):
    items_{n}.put({{"id": req.params["id"], **req.json()}})
    work_{n}.send({{"id": req.params["id"]}})
    return {{"ok": True, "v": VERSION}}


@work_{n}.consumer()
def consume_{n}(msg):
    items_{n}.update(msg.json()["id"], seen=True)
"""

APP = """\
from core import app, api
from version import VERSION
{imports}


@api.get("/version")
def version(req):
    return {{"v": VERSION}}
"""


def write_app(folder: Path, version: int) -> Path:
    features = MODULES - 3
    (folder / "core.py").write_text(CORE)
    (folder / "version.py").write_text(f"VERSION = {version}\n")
    for n in range(features):
        (folder / f"feature{n}.py").write_text(FEATURE.format(n=n))
    imports = "\n".join(f"import feature{n}" for n in range(features))
    (folder / "app.py").write_text(APP.format(imports=imports))
    return folder / "app.py"


def _served(port: int, version: int, deadline: float) -> float:
    """Poll /version until it says ``version``; the moment it did (perf_counter)."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        while time.perf_counter() < deadline:
            try:
                if http.get("/version").json().get("v") == version:
                    return time.perf_counter()
            except httpx.HTTPError:
                pass
            time.sleep(0.002)
    raise RuntimeError(f"version {version} not served in time")


def _dev(spec: Path, data: str, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "strato.cli", "dev", str(spec), "--port", str(port), "--data", data, *extra]


def reload_latencies(saves: int) -> list[float]:
    """ms from each save to the new version served by ``strato dev --reload``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "app"
        folder.mkdir()
        spec = write_app(folder, 0)
        port = free_port()
        out = []
        with process(_dev(spec, str(Path(tmp) / "data"), port, "--reload", "--log-level", "warning"), port):
            _served(port, 0, time.perf_counter() + 30)
            for version in range(1, saves + 1):
                saved = time.perf_counter()
                (folder / "version.py").write_text(f"VERSION = {version}\n")
                out.append((_served(port, version, saved + 30) - saved) * 1000)
        return out


def restart_latencies(restarts: int) -> list[float]:
    """ms from a save to the new version served by a ``strato dev`` started after it (a restart)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "app"
        folder.mkdir()
        spec = write_app(folder, 0)
        out = []
        for version in range(1, restarts + 1):
            port = free_port()
            saved = time.perf_counter()
            (folder / "version.py").write_text(f"VERSION = {version}\n")
            proc = subprocess.Popen(
                _dev(spec, str(Path(tmp) / "data"), port, "--log-level", "warning"),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                wait_port(port)
                out.append((_served(port, version, saved + 60) - saved) * 1000)
            finally:
                proc.terminate()
                proc.wait(20)
        return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def run(quick: bool = False) -> list[Row]:
    reloads = reload_latencies(10 if quick else 30)
    restarts = restart_latencies(3 if quick else 5)
    label = f"{MODULES}-module app, {len(reloads)} saves"
    baseline = "cold strato dev restart"
    return [
        Row(
            "dev loop",
            f"save → new code served, --reload ({label}), median",
            statistics.median(reloads),
            statistics.median(restarts),
            baseline,
            "ms",
            target="< 300 ms",
            higher_is_better=False,
        ),
        Row("dev loop", "save → new code served, p95", p95(reloads), p95(restarts), baseline, "ms", "< 300 ms", False),
    ]


if __name__ == "__main__":
    from .support import print_rows

    print_rows(run(quick="--quick" in sys.argv))
