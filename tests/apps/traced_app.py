"""The hops a trace must follow: HTTP -> queue -> consumer -> topic -> subscriber -> WebSocket push."""

import logging

import strato

app = strato.App("traced")
api = app.http()
jobs = app.queue("jobs", visibility_timeout=600)
events = app.topic("events")
live = app.websocket("live")
seen = app.table("seen", key="id")
log = logging.getLogger("traced")


@api.post("/jobs")
def submit(req):
    job = req.json()
    seen.put({"id": f"http-{job['id']}", "trace": strato.trace_id()})
    jobs.send(job)
    return 202, {"trace": strato.trace_id()}


@jobs.consumer()
def work(message):
    job = message.json()
    log.warning("working on %s", job["id"])  # the worker's log line names the trace
    seen.put({"id": f"queue-{job['id']}", "trace": strato.trace_id(), "header": message.trace})
    events.publish({**job, "step": "worked"})


@events.subscribe()
def notify(note):
    job = note.json()
    seen.put({"id": f"topic-{job['id']}", "trace": strato.trace_id()})
    for connection in live.connections():
        live.send(connection.id, {"job": job["id"], "trace": strato.trace_id()})
