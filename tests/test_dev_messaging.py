"""Messaging under the real processes: `strato dev` running consumers, and dev + a separate worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import strato
from tests.test_worker import wait_until

ROOT = Path(__file__).resolve().parent.parent


def _all_done(client: httpx.Client, ids: list[str]) -> bool:
    return all(client.get(f"/done/{i}").status_code == 200 for i in ids)


def test_strato_dev_runs_consumers_in_process(dev_server):
    server = dev_server("tests/apps/worker_app.py")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        ids = [f"job{i}" for i in range(20)]
        for i in ids:
            assert client.post("/jobs", json={"id": i}).status_code == 202
        assert wait_until(lambda: _all_done(client, ids), 15, 0.2), server.output()
        stats = client.get("/_strato/queues", headers=server.secret_headers).json()
        assert stats["jobs"]["depth"] == 0 and stats["jobs-dlq"]["depth"] == 0


def test_dev_without_worker_and_a_separate_worker_process(dev_server, tmp_path):
    server = dev_server("tests/apps/worker_app.py", "--no-worker")
    data = next(p for p in tmp_path.iterdir() if p.is_dir() and p.name.startswith("data"))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        ids = [f"w{i}" for i in range(10)]
        for i in ids:
            client.post("/jobs", json={"id": i})
        time.sleep(1.0)
        assert client.get("/done/w0").status_code == 404  # nothing consumes in the dev process
        worker = subprocess.Popen(
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
            env={**os.environ, "STRATO_PROVIDER": "local"},
            stderr=subprocess.PIPE,
        )
        try:
            assert wait_until(lambda: _all_done(client, ids), 20, 0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            _, err = worker.communicate(timeout=30)
        assert worker.returncode == 0 and b"stopped (10 processed" in err


def test_retention_drops_messages_older_than_the_period(make_app):
    app = make_app()
    q = app.queue("short", retention=60)
    q.send("old")
    q.send("new")
    db = q.backend.store.db
    with db.write() as conn:  # age the first message past its retention instead of waiting a minute
        conn.execute("UPDATE q_messages SET expires_at = ? WHERE body = 'old'", (time.time() - 1,))
    assert q.stats().depth == 1
    assert [m.body for m in q.receive(10)] == ["new"]
    with pytest.raises(strato.ValidationError):
        app.queue("bad", retention=30)
