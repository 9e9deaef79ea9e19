"""Cold start of an app that declares every primitive: its Lambda handles one HTTP event.

Resources are declared, never used, so nothing connects; what this measures is the import and
declaration cost a function pays for the kinds an app uses, beside cold_strato.py (HTTP only).
"""

import strato

app = strato.App("cold")
notes = app.table("notes", key="owner", sort="id", indexes={"by_tag": "tag"})
settings = app.kv("settings")
files = app.bucket("files")
cache = app.cache("cache")
db = app.sql("main")
jobs = app.queue("jobs", max_receive_count=3)
events = app.topic("events")
live = app.websocket("live", index=["user"])
metrics = app.metrics("Cold")
users = app.user_pool("users")
api = app.http()
requests = metrics.counter("Requests")
metrics.alarm("busy", metric="Requests", statistic="Sum", period=60, threshold=100, comparison=">", actions=[events])


@api.post("/notes")
def create(req):
    return 201, {"got": req.json()}


@api.get("/me", auth=True)
def me(req):
    return {"sub": req.claims["sub"]}


@jobs.consumer(batch_size=10)
def work(msg):
    notes.put(msg.json())


@events.subscribe(filter={"kind": ["created"]})
def notify(message):
    cache.set("last", message)


@notes.on_change()
def changed(record):
    settings.put("changed", record)


@files.on_change(events=["created"], prefix="uploads/")
def uploaded(event):
    jobs.send({"key": event})


@live.on_connect
def connect(conn):
    return None


@live.route("send")
def send(conn, message):
    live.broadcast(message)


@app.schedule("rate(5 minutes)")
def tick():
    db.execute("select 1")


handler = app.lambda_handler
