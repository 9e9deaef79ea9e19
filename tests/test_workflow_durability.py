"""Durability of the local executor: a `strato worker` SIGKILLed in the middle of a Map leaves every
transition it recorded, and the next worker finishes the execution from the history, recording each
transition exactly once (a task in hand when the process died runs again: its result was never recorded)."""

from __future__ import annotations

import collections

from strato.loader import load_app
from tests.conftest import ROOT
from tests.workflows import kill_and_resume

ITEMS = 300


def _count(wf, arn, kind: str) -> int:
    return sum(1 for e in wf.history(arn) if e["type"] == kind)


def test_a_killed_worker_resumes_mid_map_and_records_each_transition_once(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path))
    app = load_app(str(ROOT / "tests" / "apps" / "workflow_app.py"))
    wf = app.resources[("workflow", "batch")]
    arn = wf.start({"items": list(range(ITEMS))}, name="crash-1")

    def mid_map() -> None:
        assert _count(wf, arn, "MapIterationSucceeded") < ITEMS and wf.describe(arn).status == "RUNNING"

    kill_and_resume(
        "workflow_app.py",
        tmp_path,
        lambda: _count(wf, arn, "MapIterationSucceeded") >= 40,
        mid_map,
        lambda: wf.describe(arn).status != "RUNNING",
    )
    found = wf.describe(arn)
    assert found.status == "SUCCEEDED"
    assert found.output["squares"] == [{"n": i * i} for i in range(ITEMS)]
    events = wf.history(arn)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    kinds = collections.Counter(e["type"] for e in events)
    for kind in ("MapIterationStarted", "MapIterationSucceeded", "TaskScheduled", "TaskSucceeded", "PassStateExited"):
        assert kinds[kind] >= ITEMS
    for kind in ("MapIterationStarted", "MapIterationSucceeded"):
        indexes = [e[f"{kind[0].lower()}{kind[1:]}EventDetails"]["index"] for e in events if e["type"] == kind]
        assert sorted(indexes) == list(range(ITEMS)), f"{kind} not exactly once per item"
    entered = collections.Counter(
        (e["stateEnteredEventDetails"]["name"], e["stateEnteredEventDetails"]["input"])
        for e in events
        if e["type"].endswith("StateEntered")
    )
    assert entered.most_common(1)[0][1] == 1, "a state was entered twice with the same input"
    assert kinds["TaskSucceeded"] == ITEMS and kinds["ExecutionSucceeded"] == 1
    app.close()
