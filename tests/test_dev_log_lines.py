"""``strato dev`` logs one line per HTTP request (method, path, status, ms) and one per background
invocation (source, handler, outcome, ms), with the traceback of a failure once; ``--log-level
warning`` hides the lines but not the failures."""

from __future__ import annotations

import re

import httpx

from tests.conftest import start_dev_server, stop, wait_until

APP = """\
import strato

app = strato.App("chatty")
api = app.http()
jobs = app.queue("jobs", visibility_timeout=600)  # no retry while the test runs
done = app.table("done", key="id")


@api.get("/hello")
def hello(req):
    return {"hello": req.query.get("name", "world")}


@api.post("/jobs")
def send(req):
    jobs.send(req.json())
    return 202, {}


@api.get("/done/{id}")
def get_done(req):
    return done.get(req.params["id"]) or (404, {"message": "not yet"})


@jobs.consumer()
def work(msg):
    job = msg.json()
    if job.get("fail"):
        raise RuntimeError("the consumer failed on purpose")
    done.put({"id": job["id"]})
"""

LINE = r"\d+\.\d ms"


def run_jobs(tmp_path, level: str) -> str:
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec = tmp_path / "chatty.py"
    spec.write_text(APP)
    server = start_dev_server(str(spec), tmp_path / "data", "--log-level", level)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            assert http.get("/hello", params={"name": "ana"}).status_code == 200
            assert http.get("/nowhere").status_code == 404
            http.post("/jobs", json={"id": "bad", "fail": True})
            http.post("/jobs", json={"id": "good"})
            wait_until(lambda: http.get("/done/good").status_code == 200, what="the good job")
            wait_until(lambda: "the consumer failed on purpose" in server.output(), what="the failure's traceback")
            if level == "info":
                wait_until(lambda: re.search(rf"queue work error {LINE}", server.output()), what="the failure's line")
    finally:
        stop(server.proc)
    return server.output()


def test_one_line_per_request_and_per_invocation_with_the_failure_traceback_once(tmp_path):
    log = run_jobs(tmp_path, "info")
    assert re.search(rf"GET /hello\?name=ana 200 {LINE}", log), log
    assert re.search(rf"GET /nowhere 404 {LINE}", log), log
    assert re.search(rf"POST /jobs 202 {LINE}", log), log
    assert '"GET /hello?name=ana HTTP/1.1"' not in log  # uvicorn's access log is off: one line per request
    assert re.search(rf"queue work ok {LINE}", log), log
    failures = re.findall(rf"queue work error {LINE}", log)
    assert len(failures) == 1, log
    assert log.count("RuntimeError: the consumer failed on purpose") == 1, log  # its traceback, once
    assert log.count("Traceback (most recent call last)") == 1, log
    assert 'in work\n    raise RuntimeError("the consumer failed on purpose")' in log

    log = run_jobs(tmp_path / "quiet", "warning")  # --log-level warning hides the lines, not the failures
    assert not re.search(rf"GET /hello\S* 200 {LINE}", log) and "queue work ok" not in log, log
    assert log.count("RuntimeError: the consumer failed on purpose") == 1, log
