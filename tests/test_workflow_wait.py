"""Wait on strato's virtual clock: a Wait is a due time in the store, not a sleeping thread; moving the clock
(``Timekeeper.advance``, which the test kit's ``clock`` fixture uses) runs what fell due.
Page: https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html"""

from __future__ import annotations

import datetime as dt

import pytest

from strato.core import clock
from strato.core.clock import VirtualClock
from strato.local.timekeeping import Timekeeper
from strato.local.worker import Worker
from strato.testing.drain import Drain
from tests.workflows import held_threads, machine, wait_until

START = 1_800_000_000.0


@pytest.fixture
def app(make_app):
    return make_app("local")


@pytest.fixture
def virtual():
    previous = clock.install(VirtualClock(START))
    yield clock.installed()
    clock.install(previous)


def iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


WAITS = [
    ({"Seconds": 10}, {}),
    ({"Timestamp": iso(START + 10)}, {}),
    ({"SecondsPath": "$.delay"}, {"delay": 10}),
    ({"TimestampPath": "$.when"}, {"when": iso(START + 10)}),
]


@pytest.mark.parametrize(("wait", "given"), WAITS, ids=[next(iter(w[0])) for w in WAITS])
def test_each_wait_form_holds_until_the_clock_reaches_it(app, virtual, wait, given):
    wf = app.workflow(
        "w",
        definition=machine(
            ("W", {"Type": "Wait", **wait, "Next": "Done"}), ("Done", {"Type": "Pass", "Result": "done", "End": True})
        ),
    )
    keeper = Timekeeper(app, virtual)
    arn = wf.start(given)
    Drain(app)()
    keeper.advance(9.999)
    assert wf.describe(arn).status == "RUNNING"
    keeper.advance(0.001)
    found = wf.describe(arn)
    assert (found.status, found.output) == ("SUCCEEDED", "done")
    assert found.stop_date == START + 10


def test_a_timestamp_in_the_past_goes_on_at_once(app, virtual):
    wf = app.workflow(
        "w", definition=machine(("W", {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "End": True}))
    )
    arn = wf.start({"k": 1})
    Drain(app)()
    assert wf.describe(arn).output == {"k": 1}


def test_a_bad_seconds_path_is_states_runtime(app, virtual):
    wf = app.workflow("w", definition=machine(("W", {"Type": "Wait", "SecondsPath": "$.d", "End": True})))
    arn = wf.start({"d": "soon"})
    Drain(app)()
    assert wf.describe(arn).error == "States.Runtime"


def test_waiting_executions_hold_no_thread(app, virtual):
    wf = app.workflow("w", definition=machine(("W", {"Type": "Wait", "Seconds": 3600, "End": True})))
    worker = Worker(app, poll_wait=0.05).start()
    try:
        # Warm up first: the worker starts its helper threads lazily, on the first execution it runs.
        first = wf.start({"n": -1})
        wait_until(lambda: _waiting(wf, first))
        threads = held_threads()
        arns = [wf.start({"n": n}) for n in range(40)]
        wait_until(lambda: all(_waiting(wf, a) for a in arns))
        assert held_threads() <= threads  # 40 more waits, not one thread more
        arns.append(first)
        Timekeeper(app, virtual).advance(3600)
        assert {wf.describe(a).status for a in arns} == {"SUCCEEDED"}
    finally:
        worker.stop(10)


def _waiting(wf, arn) -> bool:
    return any(e["type"] == "WaitStateEntered" for e in wf.history(arn))


def test_the_test_kit_clock_fixture_releases_waits(tmp_path):
    """The ``clock`` fixture's advance runs a Wait that fell due (through the app's Timekeeper)."""
    from tests.test_testing_plugin import run_pytest

    (tmp_path / "app.py").write_text(
        "import strato\n"
        "app = strato.App('kit')\n"
        "wf = app.workflow('w', definition={'StartAt': 'W', 'States': {'W': {'Type': 'Wait', 'Seconds': 60, "
        "'Next': 'P'}, 'P': {'Type': 'Pass', 'Result': 'later', 'End': True}}})\n"
    )
    (tmp_path / "test_kit.py").write_text(
        "def test_wait(strato_app, drain, clock):\n"
        "    wf = strato_app.app.resources[('workflow', 'w')]\n"
        "    arn = wf.start({})\n"
        "    drain()\n"
        "    assert wf.describe(arn).status == 'RUNNING'\n"
        "    clock.advance(60)\n"
        "    assert wf.describe(arn).output == 'later'\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\nstrato_app = app.py\n")
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
