"""A queue app for multi-process tests: each message bumps a counter row in a table."""

import os
import time

import strato

app = strato.App("workertest")
jobs = app.queue("jobs", visibility_timeout=int(os.environ.get("TEST_VT", "60")), max_receive_count=5)
done = app.table("done", key="id")


@jobs.consumer(batch_size=10, max_concurrency=2)
def handle(msg):
    body = msg.json()
    if body.get("sleep"):
        time.sleep(body["sleep"])
    done.update(body["id"], add={"count": 1}, set={"pid": os.getpid()})


api = app.http()


@api.post("/jobs")
def submit(req):
    body = req.json()
    return 202, {"message_id": jobs.send(body)}


@api.get("/done/{id}")
def status(req, id):
    row = done.get(id)
    return row if row else (404, {"message": "not yet"})
