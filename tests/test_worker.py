"""Queue consumers: the Lambda SQS path, the local worker, graceful stop, two processes, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import strato
from strato.local.worker import Worker

ROOT = Path(__file__).resolve().parent.parent


def wait_until(predicate, timeout: float = 10.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


@pytest.fixture
def app(make_app):
    return make_app("local")


def sqs_event(queue, bodies):
    """An SQS event as Lambda receives it (shape from the AWS Lambda developer guide)."""
    return {
        "Records": [
            {
                "messageId": f"059f36b4-87a3-44ab-83d2-66197544000{i}",
                "receiptHandle": f"AQEBwJnKyrHigUMZj6rYigCgxlaS{i}",
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082649185",
                },
                "messageAttributes": {
                    "kind": {
                        "stringValue": "test",
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "String",
                    }
                },
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-2:123456789012:{queue.physical_name}",
                "awsRegion": "us-east-2",
            }
            for i, body in enumerate(bodies)
        ]
    }


def test_lambda_sqs_event_reports_partial_batch_failures(app):
    q = app.queue("jobs")
    seen = []

    @q.consumer()
    def handle(msg):
        if msg.json()["n"] == 1:
            raise ValueError("bad input")
        seen.append((msg.json()["n"], msg.attributes["kind"], msg.receive_count))

    out = app.lambda_handler(sqs_event(q, [{"n": 0}, {"n": 1}, {"n": 2}]), None)
    assert out == {"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975440001"}]}
    assert seen == [(0, "test", 1), (2, "test", 1)]


def test_fifo_consumer_stops_at_the_first_failure(app):
    q = app.queue("ordered", fifo=True)
    seen = []

    @q.consumer()
    def handle(msg):
        if msg.json()["n"] == 1:
            raise ValueError("stop here")
        seen.append(msg.json()["n"])

    out = app.lambda_handler(sqs_event(q, [{"n": 0}, {"n": 1}, {"n": 2}]), None)
    assert [f["itemIdentifier"][-1] for f in out["batchItemFailures"]] == ["1", "2"]
    assert seen == [0]


def test_batch_consumer_returns_its_failures(app):
    q = app.queue("jobs")

    @q.consumer(batch=True)
    def handle(messages):
        return [m for m in messages if m.json()["n"] % 2]

    out = app.lambda_handler(sqs_event(q, [{"n": i} for i in range(4)]), None)
    assert len(out["batchItemFailures"]) == 2


def test_worker_retries_failures_then_dead_letters_them(app):
    q = app.queue("jobs", visibility_timeout=1, max_receive_count=2)
    attempts: dict[int, int] = {}

    @q.consumer(batch_size=5)
    def handle(msg):
        n = msg.json()["n"]
        attempts[n] = attempts.get(n, 0) + 1
        if n == 3 or (n == 4 and attempts[n] == 1):
            raise RuntimeError("planned failure")

    for i in range(10):
        q.send({"n": i})
    worker = Worker(app, poll_wait=0.2).start()
    try:
        assert wait_until(lambda: q.stats().dlq_depth == 1 and q.stats().depth + q.stats().in_flight == 0, 15)
    finally:
        assert worker.stop(5)
    assert attempts[4] == 2 and attempts[3] == 2 and all(attempts[i] == 1 for i in (0, 1, 2, 5, 6, 7, 8, 9))
    assert [m.json() for m in q.dlq.receive(10)] == [{"n": 3}]


def test_worker_consumes_from_sqs_on_moto(make_app):
    app = make_app("aws")
    q = app.queue("jobs")
    seen = []
    q.consumer(batch_size=10)(lambda msg: seen.append(msg.json()["n"]))
    q.send_batch([{"n": i} for i in range(10)])
    worker = Worker(app, poll_wait=0.5).start()
    try:
        assert wait_until(lambda: len(seen) == 10, 15)
    finally:
        worker.stop(5)
    assert sorted(seen) == list(range(10))
    assert wait_until(lambda: q.stats().depth == 0 and q.stats().in_flight == 0, 5)


def test_graceful_stop_finishes_the_batch_in_hand(app):
    q = app.queue("jobs", visibility_timeout=60)
    started, finished = threading.Event(), []

    @q.consumer(batch_size=1, max_concurrency=1)
    def handle(msg):
        started.set()
        time.sleep(1.0)
        finished.append(msg.json()["n"])

    for i in range(3):
        q.send({"n": i})
    worker = Worker(app, poll_wait=0.2).start()
    assert started.wait(5)
    assert worker.stop(10)
    assert finished == [0]  # the message in hand completed and was deleted
    stats = q.stats()
    assert (stats.depth, stats.in_flight) == (2, 0)  # nothing else was leased, nothing lost


def _run_workers(data: Path, count: int, env: dict) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "strato.cli",
                "worker",
                "tests/apps/worker_app.py",
                "--data",
                str(data),
                "--poll-wait",
                "0.2",
            ],
            cwd=ROOT,
            env={**os.environ, "STRATO_PROVIDER": "local", **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]


def test_two_worker_processes_share_a_queue_without_double_processing(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path))
    from strato.loader import load_app

    app = load_app(str(ROOT / "tests" / "apps" / "worker_app.py"))
    jobs, done = app.resources[("queue", "jobs")], app.resources[("table", "done")]
    procs = _run_workers(tmp_path, 2, {})
    try:
        # both must be polling before the messages exist, or the first one up may drain them all
        for proc in procs:
            assert b"strato worker" in proc.stderr.readline()
        for start in range(0, 400, 10):
            jobs.send_batch([{"id": f"m{i}"} for i in range(start, start + 10)])
        assert wait_until(lambda: jobs.stats().depth + jobs.stats().in_flight == 0, 60, 0.2)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=30)[1].decode() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    rows = [done.get(f"m{i}") for i in range(400)]
    assert all(r is not None and r["count"] == 1 for r in rows)
    assert len({r["pid"] for r in rows}) == 2  # both processes did work
    app.close()


SENDER = """
import sys, time, strato
from strato.local.worker import Worker
app = strato.App("crashtest", data_dir=sys.argv[1])
q = app.queue("jobs", visibility_timeout=2)
done = app.table("done", key="id")
q.consumer(batch_size=10)(lambda m: done.update(m.json()["id"], add={"count": 1}))
Worker(app, poll_wait=0.1).start()
for i in range(100000):
    q.send({"id": f"m{i}"})
    print(i, flush=True)
"""


def test_sigkill_mid_run_loses_no_acknowledged_message(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", SENDER, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    acknowledged = -1
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= 2500:
            break
    proc.kill()
    proc.wait(10)
    app = strato.App("crashtest", data_dir=tmp_path)
    q = app.queue("jobs", visibility_timeout=2)
    done = app.table("done", key="id")
    q.consumer(batch_size=10)(lambda m: done.update(m.json()["id"], add={"count": 1}))
    worker = Worker(app, poll_wait=0.1).start()
    try:
        assert wait_until(lambda: q.stats().depth + q.stats().in_flight == 0, 60, 0.2)
    finally:
        worker.stop(10)
    missing = [i for i in range(acknowledged + 1) if done.get(f"m{i}") is None]
    assert missing == [], f"{len(missing)} acknowledged messages never processed"
    app.close()
