"""`strato cost` for workflows: Standard executions counted in state transitions (retries included), Express
ones in requests and GB-seconds (100 ms steps x 64 MB chunks), priced per https://aws.amazon.com/step-functions/pricing/
("Step Functions counts a state transition each time a step of your workflow is executed ... including
retries"; Express duration "rounded up to the nearest 100ms" and memory "billed in 64-MB chunks")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import strato
from strato import cost
from strato.core.usage import read
from strato.testing.drain import Drain
from strato.workflow.billing import gb_seconds

ROOT = Path(__file__).resolve().parent.parent
CHAIN = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Work"},
        "Work": {
            "Type": "Task",
            "Resource": "Flaky",
            "Retry": [{"ErrorEquals": ["TimeoutError"], "IntervalSeconds": 1, "MaxAttempts": 2}],
            "End": True,
        },
    },
}


def flaky_once():
    calls = []

    def flaky(event):
        calls.append(event)
        if len(calls) == 1:
            raise TimeoutError("first try")
        return "done"

    return flaky


def counts(app) -> dict:
    app.usage.flush()
    return read(app.config.data_dir)


def test_standard_counts_each_state_executed_and_each_retry(tmp_path):
    app = strato.App("costed", provider="local", data_dir=str(tmp_path))
    wf = app.workflow("chain", definition=CHAIN)
    wf.task("Flaky")(flaky_once())
    arn = wf.start({})
    drain = Drain(app)
    while wf.describe(arn).status == "RUNNING":  # the retry is due a second later
        drain(timeout=60)
        time.sleep(0.1)
    assert wf.describe(arn).status == "SUCCEEDED"
    # Prepare, Work, Work again (the retry): three transitions
    assert counts(app)[("stepfunctions", "state_transitions")] == 3
    app.close()


def test_a_map_counts_each_iteration(tmp_path):
    app = strato.App("costed", provider="local", data_dir=str(tmp_path))
    inner = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}}}
    wf = app.workflow(
        "fan",
        definition={
            "StartAt": "M",
            "States": {"M": {"Type": "Map", "MaxConcurrency": 2, "ItemProcessor": inner, "End": True}},
        },
    )
    arn = wf.start([1, 2, 3, 4, 5])
    Drain(app)(timeout=60)
    assert wf.describe(arn).output == [1, 2, 3, 4, 5]
    assert counts(app)[("stepfunctions", "state_transitions")] == 1 + 5 * 2  # the Map, then A and B per item
    app.close()


def test_express_counts_requests_and_billed_duration(tmp_path):
    app = strato.App("costed", provider="local", data_dir=str(tmp_path))
    wf = app.workflow("quick", type="EXPRESS", definition=CHAIN)
    wf.task("Flaky")(flaky_once())
    done = [wf.start_sync({}) for _ in range(3)]
    assert all(e.status == "SUCCEEDED" for e in done)
    got = counts(app)
    assert got[("stepfunctions_express", "requests")] == 3
    assert ("stepfunctions", "state_transitions") not in got  # Express is not billed by transition
    expected = sum(gb_seconds(e.stop_date - e.start_date, 0) for e in done)
    assert got[("stepfunctions_express", "gb_seconds")] == pytest.approx(expected)
    assert expected >= 3 * 0.1 * 64 / 1024  # at least one 100 ms step of one 64 MB chunk each
    app.close()


def test_billed_duration_rounds_up_to_100_ms_and_64_mb_chunks():
    assert gb_seconds(0.0001, 10) == pytest.approx(0.1 * 0.0625)
    assert gb_seconds(0.1, 10) == pytest.approx(0.1 * 0.0625)
    assert gb_seconds(0.1001, 10) == pytest.approx(0.2 * 0.0625)
    assert gb_seconds(1.0, 64 * 1024 * 1024 + 1) == pytest.approx(1.0 * 0.125)


def test_prices_and_express_duration_tiers(tmp_path):
    from strato.core.usage import Usage

    counter = Usage(tmp_path)
    counter.add("stepfunctions", "state_transitions", 40_000)
    counter.add("stepfunctions_express", "requests", 2_000_000)
    counter.add("stepfunctions_express", "gb_seconds", 4_000_000)  # 1,111 GB-hours: over the first tier
    counter.flush()
    lines = cost.estimate(tmp_path)
    by = {(li.service, li.unit, li.price): li for li in lines}
    assert by[("stepfunctions", "state_transitions", 0.000025)].monthly == pytest.approx(1.00)  # $0.025 per 1,000
    assert by[("stepfunctions_express", "requests", 1e-6)].monthly == pytest.approx(2.00)  # $1.00 per million
    first = by[("stepfunctions_express", "gb_seconds", 0.00001667)]
    second = by[("stepfunctions_express", "gb_seconds", 0.00000833)]
    assert first.quantity == 3_600_000 and second.quantity == pytest.approx(400_000)
    assert not any(li.price == 0.00000456 for li in lines)  # the third tier is not reached
    third = [li for li in cost.estimate(tmp_path, runs_per_month=10) if li.price == 0.00000456]
    assert third[0].quantity == pytest.approx(40_000_000 - 18_000_000)


def test_cli_shows_the_workflow_lines(tmp_path):
    source = """
import strato
app = strato.App("costed")
wf = app.workflow("chain", definition={"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})

if __name__ == "__main__":
    from strato.testing.drain import Drain
    wf.start({})
    Drain(app)(timeout=60)
    app.usage.flush()
"""
    (tmp_path / "flows.py").write_text(source)
    env = {**os.environ, "STRATO_DATA_DIR": str(tmp_path / "data"), "STRATO_PROVIDER": "local", "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, str(tmp_path / "flows.py")], capture_output=True, text=True, timeout=60, env=env
    )
    assert run.returncode == 0, run.stderr
    args = [sys.executable, "-m", "strato.cli", "cost", str(tmp_path / "flows.py"), "--data", str(tmp_path / "data")]
    table = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=60, env=env)
    assert table.returncode == 0, table.stderr
    assert "stepfunctions" in table.stdout and "Standard workflow state transition" in table.stdout
    report = json.loads(
        subprocess.run([*args, "--json"], capture_output=True, text=True, cwd=ROOT, timeout=60, env=env).stdout
    )
    line = next(li for li in report["lines"] if li["service"] == "stepfunctions")
    assert line["quantity"] == 1 and line["usd_per_unit"] == pytest.approx(0.000025)
