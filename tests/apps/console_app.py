"""An app with one of each primitive the console shows: a table with an index, a bucket, a queue whose
consumer dead-letters "poison" messages, a topic, a WebSocket API, a schedule, metrics with an alarm, a
user pool and a workflow with a Choice and a Catch."""

import strato

app = strato.App("consoletest")
notes = app.table("notes", key="user", sort="id", indexes={"by_tag": ("tag", "id")})
files = app.bucket("files")
work = app.queue("work", max_receive_count=1, visibility_timeout=1)
events = app.topic("events")
live = app.websocket("live", index=["user"])
meter = app.metrics("ConsoleTest")
meter.alarm("busy", metric="jobs", statistic="Sum", period=60, threshold=5, comparison=">=")
members = app.user_pool("members")
flow = app.workflow(
    "flow",
    definition={
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Work"}],
                "Default": "Refuse",
            },
            "Work": {
                "Type": "Task",
                "Resource": "Work",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refuse"}],
                "End": True,
            },
            "Refuse": {"Type": "Fail", "Error": "Refused"},
        },
    },
)
api = app.http()
seen: list[str] = []


@flow.task("Work")
def do_work(data):
    return {"done": True}


@work.consumer()
def consume(msg):
    if msg.body == "poison":
        raise RuntimeError("poison message")
    seen.append(msg.body)


@live.on_connect
def connected(conn):
    conn.data["user"] = conn.query.get("user", "anon")


@app.schedule("rate(1 day)", name="nightly")
def nightly(event):
    meter.put("jobs", 1)


@api.post("/work")
def submit(req):
    work.send(req.body.decode())
    return 202, {"queued": True}


@api.post("/flow")
def start_flow(req):
    return 202, {"arn": flow.start(req.json())}
