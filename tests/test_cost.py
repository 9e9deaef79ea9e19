"""Usage counted by the local providers, and `strato cost` turning it into a monthly estimate."""

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
from tests.test_app import _Tally

ROOT = Path(__file__).resolve().parent.parent

USAGE_APP = """
import strato
app = strato.App("costed")
notes = app.table("notes", key="id")
files = app.bucket("files")
work = app.queue("work")
events = app.topic("events")
api = app.http()
api.get("/ping")(lambda req: {"pong": True})

if __name__ == "__main__":
    notes.put({"id": "a", "text": "x" * 100})
    notes.put({"id": "b", "text": "x" * 3000})   # 3 KB: 3 write units
    notes.get("a")
    notes.query("a")
    files.put("k", b"data")
    files.get("k")
    work.send({"n": 1})
    for m in work.receive(1):
        work.delete(m)
    events.subscribe_sms("+14155550100")
    events.publish("hello")
    from starlette.testclient import TestClient
    from strato.events.apigw_http import http_event
    from strato.local.server import build_asgi
    with TestClient(build_asgi(app, background=False)) as gateway:   # through the dev server's gateway
        for _ in range(4):
            assert gateway.get("/ping").status_code == 200
    app.lambda_handler(http_event(method="GET", raw_path="/ping", raw_query="", headers=[], body=b"",
                                  source_ip="1.1.1.1", route_key="GET /ping", path_parameters=None, domain="x"))
    app.usage.flush()
"""


@pytest.fixture
def recorded(tmp_path):
    (tmp_path / "costed.py").write_text(USAGE_APP)
    run = subprocess.run(
        [sys.executable, str(tmp_path / "costed.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "STRATO_DATA_DIR": str(tmp_path / "data"), "STRATO_PROVIDER": "local"},
    )
    assert run.returncode == 0, run.stderr
    return tmp_path


def test_operations_are_counted_in_aws_billing_units(recorded):
    usage = read(recorded / "data")
    assert usage[("dynamodb", "write_units")] == 1 + 3
    assert usage[("dynamodb", "read_units")] == 2  # a GetItem and a Query of one small item
    assert usage[("s3", "class_a_requests")] == 1 and usage[("s3", "class_b_requests")] == 1
    assert usage[("sqs", "requests")] == 3  # send, receive, delete
    assert usage[("sns", "publishes")] == 1 and usage[("sns", "sms_deliveries")] == 1
    # 4 requests through the gateway; 1 direct app.lambda_handler call (as `strato invoke` makes): no gateway
    assert usage[("apigateway", "http_requests")] == 4 and usage[("lambda", "invocations")] == 5
    assert 0 < usage[("lambda", "gb_seconds")] < 1


def test_estimate_prices_usage_and_storage(recorded):
    lines = {(li.service, li.unit): li for li in cost.estimate(recorded / "data", runs_per_month=1000)}
    assert lines[("apigateway", "http_requests")].quantity == 4000
    assert lines[("apigateway", "http_requests")].monthly == pytest.approx(4000 * 1.00 / 1e6)
    assert lines[("sns", "sms_deliveries")].monthly == pytest.approx(1000 * 0.00581)
    assert lines[("s3", "storage_gb_month")].quantity == pytest.approx(4 / 1024**3)
    overridden = {(li.service, li.unit): li for li in cost.estimate(recorded / "data", 1, {"sns.sms_deliveries": 0.01})}
    assert overridden[("sns", "sms_deliveries")].monthly == pytest.approx(0.01)


def test_cli_reports_json_with_cost_per_thousand_users(recorded):
    args = [sys.executable, "-m", "strato.cli", "cost", str(recorded / "costed.py"), "--data", str(recorded / "data")]
    out = subprocess.run(
        [*args, "--json", "--users", "2", "--runs-per-month", "30"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["prices_as_of"] == cost.PRICES_AS_OF and report["region"] == "us-east-1"
    assert report["per_1000_users_usd"] == pytest.approx(report["total_monthly_usd"] / 2 * 1000)
    assert set(report["by_service"]) >= {"dynamodb", "s3", "sqs", "sns", "lambda", "apigateway"}
    table = subprocess.run(
        args, capture_output=True, text=True, cwd=ROOT, timeout=60, env={**os.environ, "COLUMNS": "160"}
    )
    assert "total" in table.stdout and "GB-second" in table.stdout
    subprocess.run([*args, "--reset"], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    assert read(recorded / "data") == {}


def test_nothing_is_counted_on_aws(make_app, moto_server):
    app = make_app("aws")
    assert type(app.usage).__name__ == "_Off"


def test_a_failed_conditional_write_is_billed_and_the_condition_read_is_not(make_app):
    """DynamoDB charges the write capacity of a conditional write whose condition fails, and does not charge
    a read for evaluating it (the local provider billed the read and not the write)."""

    app = make_app()
    notes = app.table("notes", key="id")
    notes.put({"id": "a"})
    tally = _Tally()
    notes.backend.usage = tally
    for write in (
        lambda: notes.put({"id": "a"}, if_absent=True),
        lambda: notes.update("a", set={"n": 1}, if_match={"n": 5}),
        lambda: notes.delete("a", if_match={"n": 5}),
    ):
        with pytest.raises(strato.ConditionFailed):
            write()
    assert tally.counts == {("dynamodb", "write_units"): 3}


def test_usage_reaches_usage_db_without_another_operation(tmp_path, monkeypatch):
    """Counts sat in memory until the next operation after FLUSH_EVERY_S; now a timer writes them."""
    import time as _time

    from strato.core import usage as usage_module

    monkeypatch.setattr(usage_module, "FLUSH_EVERY_S", 0.2)
    counter = usage_module.Usage(tmp_path)
    counter.add("sqs", "requests", 3)
    deadline = _time.monotonic() + 5
    while _time.monotonic() < deadline and not read(tmp_path):
        _time.sleep(0.05)
    assert read(tmp_path) == {("sqs", "requests"): 3}


def test_small_amounts_are_shown_to_two_significant_digits():
    from strato.cost import usd

    assert [usd(x) for x in (0, 0.000042, 0.0123, 1234.5)] == ["0.00", "0.000042", "0.0123", "1,234.50"]


def test_the_event_source_mapping_is_priced_as_aws_polls_not_as_the_local_worker_polls(make_app):
    """The local worker long-polls every second and each empty poll was billed as an SQS request; AWS's
    mapping polls with five 20-second long polls when idle
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html), around the clock."""
    from strato.cost import ESM_IDLE_REQUESTS, estimate
    from strato.local.worker import Worker

    app = make_app()
    jobs = app.queue("jobs")
    jobs.consumer()(lambda message: None)
    worker = Worker(app, poll_wait=0.05).start()
    try:
        time.sleep(0.6)  # a dozen empty polls per consumer loop
        jobs.send("one")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and jobs.stats().depth + jobs.stats().in_flight:
            time.sleep(0.05)
    finally:
        worker.stop(5)
    app.usage.flush()
    recorded = read(app.config.data_dir)
    assert recorded[("sqs", "requests")] == 3  # the send, the receive that got it, the delete
    lines = {(line.service, line.unit): line for line in estimate(app.config.data_dir, polled={"sqs": 1})}
    assert lines[("sqs", "esm_polling")].quantity == ESM_IDLE_REQUESTS == 5 * 30 * 86_400 // 20
