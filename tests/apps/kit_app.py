"""The app the test kit's own tests run: one of each trigger, wired so that one request ripples through
a queue, a topic, a stream, a bucket watcher and a WebSocket broadcast."""

import strato
from strato import HTTPError

app = strato.App("kit")
items = app.table("items", key="id")
log = app.table("log", key="id")
jobs = app.queue("jobs")
done = app.topic("done")
uploads = app.bucket("uploads")
users = app.user_pool("users")
live = app.websocket("live", auth=True)
stats = app.metrics("Kit")
api = app.http()


@api.get("/items/{id}")
def get_item(req, id):
    item = items.get(id)
    if item is None:
        raise HTTPError(404, f"no item {id}")
    return item


@api.put("/items/{id}")
def put_item(req, id):
    items.put({"id": id, **req.json()})


@api.post("/jobs")
def submit(req):
    job = req.json()
    jobs.send(job)
    return 202, {"queued": job}


@api.get("/me", auth=True)
def me(req):
    return {"user": req.claims.get("cognito:username"), "groups": req.claims.get("cognito:groups", [])}


@api.get("/admin", groups=["admins"])
def admin(req):
    return {"ok": True}


@jobs.consumer()
def work(msg):
    job = msg.json()
    if job.get("fail"):
        raise RuntimeError(f"job {job['n']} asked to fail")
    stats.put("JobsDone", 1, unit="Count", dimensions={"kind": job.get("kind", "plain")})
    done.publish(job, attributes={"kind": job.get("kind", "plain")})


@done.subscribe()
def record(note):
    log.put({"id": f"done-{note.json()['n']}", "via": "topic"})
    live.broadcast({"done": note.json()["n"]})


@items.on_change()
def changed(change):
    if change.new is not None:
        log.put({"id": f"item-{change.new['id']}", "via": "stream"})


@uploads.on_change(events=["created"])
def uploaded(event):
    log.put({"id": f"upload-{event.key}", "via": "bucket"})


@live.on_connect
def connect(conn):
    conn.data["user"] = conn.claims.get("cognito:username", "")


@live.route("echo")
def echo(msg):
    return {"echo": msg.json().get("text"), "user": msg.connection.data.get("user")}


@live.route("boom")
def boom(msg):
    raise RuntimeError("boom")


@app.schedule("rate(1 hour)")
def hourly(event):
    log.put({"id": f"tick-{event['time']}", "via": "schedule"})


@api.post("/later")
def later(req):
    jobs.send(req.json(), delay=60)
    return 202, {}
