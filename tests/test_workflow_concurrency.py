"""How many Task states of one workflow run at once on the worker: a Map's MaxConcurrency, up to the app's
bounded task pool (no longer 64 per workflow), never a thread per task."""

from __future__ import annotations

import threading

import pytest

from strato.local.worker import Worker
from strato.workflow.pool import TASK_THREADS
from tests.workflows import machine, wait_until


@pytest.fixture
def app(make_app):
    return make_app("local")


def _map(concurrency: int) -> dict:
    return machine(
        (
            "M",
            {
                "Type": "Map",
                "MaxConcurrency": concurrency,
                "End": True,
                "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "Meet", "End": True}}},
            },
        )
    )


def test_more_than_64_map_tasks_run_at_once(app):
    parties = 100
    barrier = threading.Barrier(parties, timeout=60)  # breaks unless all 100 tasks are running together
    wf = app.workflow("wide", definition=_map(parties))
    wf.task("Meet")(lambda item: barrier.wait() >= 0 and item)
    worker = Worker(app, poll_wait=0.05).start()
    try:
        arn = wf.start(list(range(parties)))
        wait_until(lambda: wf.describe(arn).status != "RUNNING", timeout=120)
        assert wf.describe(arn).status == "SUCCEEDED", wf.describe(arn).cause
        assert wf.describe(arn).output == list(range(parties))
    finally:
        worker.stop(30)


def test_task_threads_are_bounded_and_reused(app):
    wf = app.workflow("many", definition=_map(0))
    wf.task("Meet")(lambda item: item)
    worker = Worker(app, poll_wait=0.05).start()
    try:
        for _ in range(3):
            arn = wf.start(list(range(300)))
            wait_until(lambda arn=arn: wf.describe(arn).status != "RUNNING", timeout=120)
            assert wf.describe(arn).status == "SUCCEEDED"
        pool = [t for t in threading.enumerate() if t.name.startswith("strato-workflow-task")]
        assert 0 < len(pool) <= TASK_THREADS  # 900 tasks, on at most TASK_THREADS threads
    finally:
        worker.stop(30)
