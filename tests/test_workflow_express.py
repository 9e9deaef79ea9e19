"""Express executions after a worker dies, per Step Functions' execution guarantees
(https://docs.aws.amazon.com/step-functions/latest/dg/express-at-least-once-execution.html): asynchronous
Express is "at-least-once" and its "execution state doesn't persist between state transitions", so a
killed worker's Express execution runs again from StartAt with its input; synchronous Express is
"at-most-once" ("workflows don't restart"), so it fails instead. (Standard: test_workflow_durability.py.)"""

from __future__ import annotations

import collections
import socket
import subprocess

from strato.loader import load_app
from strato.testing.drain import Drain
from tests.conftest import ROOT
from tests.test_workflow_durability import _count
from tests.workflows import kill_and_resume, machine

ITEMS = 200


def test_a_killed_workers_express_execution_runs_again_from_the_start(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path))
    app = load_app(str(ROOT / "tests" / "apps" / "workflow_app.py"))
    wf = app.resources[("workflow", "quick")]
    for attempt in range(3):
        arn = wf.start({"items": list(range(ITEMS))}, name=f"crash-express-{attempt}")
        at_kill: list[str] = []
        kill_and_resume(
            "workflow_app.py",
            tmp_path,
            lambda arn=arn: _count(wf, arn, "MapIterationSucceeded") >= 20,
            lambda arn=arn, at_kill=at_kill: at_kill.append(wf.describe(arn).status),
            lambda arn=arn: wf.describe(arn).status != "RUNNING",
        )
        if at_kill == ["RUNNING"]:
            break
        # the Map (250 ms of work) finished before the SIGKILL landed (a loaded machine starved this
        # process between seeing 20 iterations and killing): nothing to resume, so try again
    assert at_kill == ["RUNNING"], "the worker was never killed mid-execution in 3 tries"
    found = wf.describe(arn)
    assert found.status == "SUCCEEDED"
    assert found.output["squares"] == [{"n": i * i} for i in range(ITEMS)]
    kinds = collections.Counter(e["type"] for e in wf.history(arn))
    assert kinds["MapStateStarted"] == 2  # the whole execution ran again: at least once
    assert kinds["TaskSucceeded"] > ITEMS  # squares done before the kill were done again
    assert kinds["ExecutionSucceeded"] == 1
    app.close()


def test_a_synchronous_express_execution_whose_worker_died_fails_rather_than_rerun(make_app):
    app = make_app("local")
    wf = app.workflow("sync", type="EXPRESS", definition=machine(("W", {"Type": "Wait", "Seconds": 3600, "End": True})))
    store = wf.backend.store
    dead = subprocess.Popen(["true"])  # a process that has exited: its pid is not running
    dead.wait()
    arn = wf.backend.arn_for("lost")
    with store.db.write() as conn:
        from strato.workflow import express

        express.mark_sync(conn, arn)
    wf.start({}, name="lost")  # as start_sync does before it drives the execution in the caller's thread
    with store.db.write() as conn:  # the caller's process held the frame when it died
        conn.execute(
            "UPDATE frames SET owner = ?, due = 0 WHERE arn = ?", (f"{socket.gethostname()}:{dead.pid}:0", arn)
        )
    store._swept_owners = 0.0
    Drain(app)()
    found = wf.describe(arn)
    assert (found.status, found.error) == ("FAILED", "States.Runtime")
    assert "at most once" in found.cause
