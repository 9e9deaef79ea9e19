"""examples/jobs through the test kit: the retry and dead-letter path driven by virtual time instead of
waiting for visibility timeouts, and live status over an in-process WebSocket. (test_jobs.py runs the
same service as `strato dev` plus a separate `strato worker`, over real sockets.)"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.strato_app("examples/jobs/app.py")

ANA = {"x-dev-user-id": "ana"}
RETRY_S = 30  # the app's visibility timeout (JOBS_RETRY_SECONDS is not set here)


def submit(client, prompt: str) -> dict:
    created = client.post("/api/code-gen", json={"projectId": "shop", "type": "api", "prompt": prompt}, headers=ANA)
    assert created.status == 202, created.text
    return created.json()


def status_of(client, job: dict) -> dict:
    return client.get(f"/api/code-gen/{job['id']}", headers=ANA).json()


def test_a_failing_job_is_retried_on_the_visibility_timeout_then_dead_lettered(client, drain, clock, outbox):
    ok, bad = submit(client, "An API for books"), submit(client, "Please fail on purpose")
    for attempt in (1, 2, 3):
        with pytest.raises(RuntimeError, match="asked for a failure"):
            drain()  # the consumer's exception, raised here with its traceback
        assert status_of(client, bad)["attempts"] == attempt
        assert drain() == 0  # nothing is due until the visibility timeout ends
        clock.advance(RETRY_S - 1)
        assert drain() == 0
        clock.advance(1)
    assert status_of(client, ok)["status"] == "completed"
    failed = status_of(client, bad)
    assert failed["status"] == "failed" and failed["attempts"] == 3
    drain()  # the fourth receive moves the message to the dead-letter queue (maxReceiveCount 3)
    queues = client.get("/api/admin/queue-status", headers=ANA).json()["queues"]["codegen"]
    assert queues["dlqDepth"] == 1 and queues["depth"] == 0
    statuses = [s.json()["status"] for s in outbox.topic("job-events") if s.json()["id"] == bad["id"]]
    assert statuses == ["queued", "generating", "generating", "generating", "failed"]


def test_live_status_over_the_websocket(client, drain):
    with client.websocket("live", query={"user": "ana"}) as ws:
        job = submit(client, "An API for songs")
        drain()
        statuses = [u["status"] for u in map(_json, ws.received()) if u["id"] == job["id"]]
        assert statuses == ["queued", "generating", "completed"]


def test_a_websocket_without_a_user_is_refused(client):
    from strato.testing import Rejected

    with pytest.raises(Rejected) as refused:
        client.websocket("live")
    assert refused.value.status == 401


def _json(message):
    import json

    return json.loads(message)
