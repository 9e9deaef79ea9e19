"""``strato dev --reload``: a real dev server process on an app of several modules in a temporary
folder, driven by real HTTP and WebSocket clients while the test saves new code.

Saves are synchronised on what the server answers (the new version served) or on ``/_strato/health``'s
reload counters, never on sleeps.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from tests.conftest import DevServer, start_dev_server, stop, wait_until

CORE = """\
import strato

app = strato.App("reloading")
api = app.http()
live = app.websocket("live")
notes = app.table("notes", key="id")
jobs = app.queue("jobs")
"""

VERSION = "VERSION = {n}\n"

ROUTES = """\
import time
from pathlib import Path

from core import api, notes, jobs
from version import VERSION


@api.get("/version")
def version(req):
    return {"v": VERSION}


@api.put("/notes/{id}")
def put_note(req):
    notes.put({"id": req.params["id"], **req.json()})
    return {"ok": True}


@api.get("/notes/{id}")
def get_note(req):
    return notes.get(req.params["id"]) or (404, {"message": "no such note"})


@api.post("/jobs")
def send_job(req):
    jobs.send(req.json())
    return 202, {}


@api.get("/slow")
def slow(req):
    folder = Path(req.query["dir"])
    (folder / "started").write_text("")
    deadline = time.monotonic() + 30
    while not (folder / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"v": VERSION, "note": notes.get("kept")}  # the old build's table is still open
"""

SOCKETS = """\
from core import live
from version import VERSION


@live.route("version")
def version(msg):
    return {"v": VERSION, "connection": msg.connection_id}


@live.route("echo")
def echo(msg):
    return {"n": msg.json()["n"], "v": VERSION}
"""

APP = """\
from core import app
import routes
import sockets
"""


def write_project(folder: Path, version: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {
        "core.py": CORE,
        "version.py": VERSION.format(n=version),
        "routes.py": ROUTES,
        "sockets.py": SOCKETS,
        "app.py": APP,
    }.items():
        (folder / name).write_text(text)
    return folder / "app.py"


@pytest.fixture
def project(tmp_path):
    spec = write_project(tmp_path / "project")
    server = start_dev_server(str(spec), tmp_path / "data", "--reload", "--log-level", "info")
    yield spec.parent, server
    stop(server.proc)


def served_version(http: httpx.Client) -> int:
    return http.get("/version").json()["v"]


def save_version(folder: Path, http: httpx.Client, n: int) -> None:
    """Save version ``n`` and wait until new requests get it."""
    (folder / "version.py").write_text(VERSION.format(n=n))
    wait_until(lambda: served_version(http) == n, what=f"version {n} to be served")


def attempts(server: DevServer) -> int:
    return httpx.get(f"{server.url}/_strato/health").json()["reload"]["attempts"]


def ws_url(server: DevServer) -> str:
    return server.url.replace("http://", "ws://") + "/ws/live"


def ask(ws, payload: dict) -> dict:
    ws.send(json.dumps(payload))
    return json.loads(ws.recv(timeout=10))


def test_a_websocket_open_before_a_save_stays_open_and_runs_the_new_code(project):
    from websockets.sync.client import connect

    folder, server = project
    with httpx.Client(base_url=server.url, timeout=10) as http, connect(ws_url(server)) as ws:
        before = ask(ws, {"action": "version"})
        assert before["v"] == 1
        save_version(folder, http, 2)
        after = ask(ws, {"action": "version"})
        assert after == {"v": 2, "connection": before["connection"]}  # the same connection, the new code


def test_continuous_http_and_websocket_traffic_sees_no_error_across_20_reloads(project):
    from websockets.sync.client import connect

    folder, server = project
    stop_sending = threading.Event()
    problems: list[str] = []
    counts = {"http": 0, "ws": 0}

    def over_http() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            while not stop_sending.is_set():
                try:
                    answer = http.get("/version")
                    if answer.status_code != 200:
                        problems.append(f"http {answer.status_code}: {answer.text}")
                    counts["http"] += 1
                except Exception as exc:
                    problems.append(f"http {exc!r}")

    def over_websocket() -> None:
        n = 0
        try:
            with connect(ws_url(server)) as ws:
                while not stop_sending.is_set():
                    n += 1
                    answer = ask(ws, {"action": "echo", "n": n})
                    if answer.get("n") != n:
                        problems.append(f"ws sent {n}, got {answer}")
                    counts["ws"] += 1
        except Exception as exc:
            problems.append(f"ws {exc!r} after {n} messages")

    senders = [threading.Thread(target=over_http), threading.Thread(target=over_websocket)]
    for sender in senders:
        sender.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for n in range(2, 22):
                save_version(folder, http, n)
                seen = dict(counts)  # both clients got answers from this version before the next save
                wait_until(lambda seen=seen: counts["http"] > seen["http"] and counts["ws"] > seen["ws"])
    finally:
        stop_sending.set()
        for sender in senders:
            sender.join(20)
    assert problems == []
    assert counts["http"] > 20 and counts["ws"] > 20
    assert attempts(server) >= 20


def test_a_request_in_flight_finishes_on_the_code_it_started_with(project, tmp_path):
    folder, server = project
    flags = tmp_path / "flags"
    flags.mkdir()
    answers: list[httpx.Response] = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        http.put("/notes/kept", json={"text": "before"}).raise_for_status()
        slow = threading.Thread(target=lambda: answers.append(http.get("/slow", params={"dir": str(flags)})))
        slow.start()
        wait_until(lambda: (flags / "started").exists(), what="the slow request to start")
        save_version(folder, http, 2)  # new requests get the new code meanwhile
        (flags / "release").write_text("")
        slow.join(30)
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json() == {"v": 1, "note": {"id": "kept", "text": "before"}}


BREAKAGES = {
    "syntax error": ("version.py", "VERSION = (\n", "version.py:1: SyntaxError: '(' was never closed"),
    "import error": (
        "sockets.py",
        SOCKETS.replace("from version import VERSION", "from version import VERSION\nimport no_such_module"),
        "sockets.py:3: ModuleNotFoundError: No module named 'no_such_module'",
    ),
    "bad declaration": (
        "core.py",
        CORE + 'jobs_again = app.queue("jobs")\n',
        "core.py:8: ConfigurationError: queue 'jobs' is declared twice",
    ),
    "exception at import": (
        "routes.py",
        ROUTES + '\nraise RuntimeError("not ready")\n',
        f"routes.py:{ROUTES.count(chr(10)) + 2}: RuntimeError: not ready",
    ),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_a_failed_reload_keeps_the_last_good_code_and_says_where_once(project, breakage):
    folder, server = project
    name, broken, expected = BREAKAGES[breakage]
    with httpx.Client(base_url=server.url, timeout=10) as http:
        save_version(folder, http, 2)
        good = (folder / name).read_text()
        for saves in (1, 2, 3):  # saving the same mistake again says nothing new
            before = attempts(server)
            (folder / name).write_text(broken)
            wait_until(lambda before=before: attempts(server) > before, what=f"save {saves} to be acted on")
            assert served_version(http) == 2
        assert server.output().count(expected) == 1, server.output()
        before = attempts(server)
        (folder / name).write_text(good)  # fixed: the next save is served
        wait_until(lambda: attempts(server) > before, what="the fix to be acted on")
        assert httpx.get(f"{server.url}/_strato/health").json()["reload"]["error"] is None
        save_version(folder, http, 3)
    log = server.output()
    assert log.count(expected) == 1
    assert f"reload failed, still serving the previous code: {folder / name}" in log
    assert log.split(expected)[1].count("reloaded (") == 2  # the fix, then version 3


NEW_DECLARATIONS = """\

extra = app.table("extra", key="id")
tasks = app.queue("tasks")


@api.put("/extra/{id}")
def put_extra(req):
    extra.put({"id": req.params["id"], "seen": True})
    return {"ok": True}


@api.get("/extra/{id}")
def get_extra(req):
    return extra.get(req.params["id"]) or (404, {})


@jobs.consumer()
def work(msg):
    notes.put({"id": "from-consumer", "body": msg.json()})


@app.schedule("rate(1 hour)", name="hourly")
def hourly():
    notes.put({"id": "from-schedule"})


events = app.topic("events")


@api.post("/events")
def publish(req):
    events.publish(req.json())
    return 202, {}


@events.subscribe()
def heard(note):
    notes.put({"id": "from-topic", "body": note.json()})


@extra.on_change()
def extra_changed(change):
    if change.new is not None:
        notes.put({"id": f"stream-{change.new['id']}"})
"""


def test_new_and_removed_declarations_take_effect_and_data_is_kept(project):
    folder, server = project
    with httpx.Client(base_url=server.url, timeout=10) as http:
        http.put("/notes/kept", json={"text": "before"}).raise_for_status()
        assert http.post("/jobs", json={"job": 1}).status_code == 202  # no consumer yet: it waits
        assert http.get("/extra/a").status_code == 404
        routes = ROUTES.replace('@api.get("/slow")\n', "").replace("import api,", "import api, app,")
        (folder / "routes.py").write_text(routes + NEW_DECLARATIONS)
        wait_until(lambda: http.put("/extra/a").status_code == 200, what="the new route")
        assert http.get("/extra/a").json() == {"id": "a", "seen": True}  # a new route on a new table
        assert http.get("/slow", params={"dir": "."}).status_code == 404  # a removed route
        assert http.get("/notes/kept").json() == {"id": "kept", "text": "before"}  # data written before
        consumed = wait_until(lambda: http.get("/notes/from-consumer").json().get("body"), what="the new consumer")
        assert consumed == {"job": 1}
        schedules = http.get("/_strato/schedules", headers=server.secret_headers).json()
        assert [s["name"] for s in schedules] == ["hourly"]
        assert http.post("/_strato/schedules/hourly/run", headers=server.secret_headers).status_code == 200
        assert http.get("/notes/from-schedule").json() == {"id": "from-schedule"}
        assert http.post("/events", json={"e": 1}).status_code == 202  # a new topic and its subscription
        heard = wait_until(lambda: http.get("/notes/from-topic").json().get("body"), what="the new subscription")
        assert heard == {"e": 1}
        http.put("/extra/b").raise_for_status()  # a new stream handler on the new table
        wait_until(lambda: http.get("/notes/stream-b").status_code == 200, what="the new stream handler")


def test_websocket_apis_a_reload_removes_go_away_and_those_it_adds_answer(project):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    folder, server = project
    with connect(ws_url(server)) as ws:
        assert ask(ws, {"action": "version"})["v"] == 1
        (folder / "sockets.py").write_text(
            "from core import side\n\n\n@side.route('ping')\ndef ping(msg):\n    return {'pong': True}\n"
        )
        (folder / "core.py").write_text(CORE.replace('live = app.websocket("live")', 'side = app.websocket("side")'))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "Going away")
    side = server.url.replace("http://", "ws://") + "/ws/side"
    with connect(side) as ws:
        assert ask(ws, {"action": "ping"}) == {"pong": True}


def test_an_app_named_as_module_attr_reloads_its_folder(tmp_path):
    import os

    folder = write_project(tmp_path / "project").parent
    path = os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])
    server = start_dev_server("app:app", tmp_path / "data", "--reload", env={"PYTHONPATH": path})
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            assert served_version(http) == 1
            save_version(folder, http, 2)
    finally:
        stop(server.proc)
