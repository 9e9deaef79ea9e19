"""An app declaring every production setting: the synth snapshot tests and cfn-lint read its template."""

import strato
from strato import Provisioned, function

app = strato.App("prodapp")
app.tags({"Application": "analytics", "CostCenter": "cc-42", "Owner": "data@example.com"})
app.alarms(queue_depth=100, budget=250)
app.functions(log_retention_days=60)

api = app.http(function={"memory": 1536, "reserved": 10, "provisioned": Provisioned(5, 10, target=0.7)})
live = app.websocket("live", function={"memory": 256, "timeout": 20})
jobs = app.queue("jobs", visibility_timeout=300, max_receive_count=5)
events = app.topic("events")
orders = app.table("orders", "id")
files = app.bucket("files")


@api.get("/ping")
def ping(req):
    return {"ok": True}


@live.on_message
def say(conn, message):
    return None


@jobs.consumer(batch_size=5)
@function(
    memory=2048,
    timeout=240,
    reserved=20,
    env={"MODEL": "small"},
    layers=["arn:aws:lambda:us-east-1:123456789012:layer:bot-connector:7"],
)
def work(message):
    return None


@events.subscribe()
@function(memory=256, alarms=False, log_retention_days=365)
def notify(message):
    return None


@orders.on_change()
@function(timeout=600, provisioned=2)
def changed(records):
    return None


@files.on_change()
@function(memory=3008)
def uploaded(event):
    return None


@app.schedule("rate(1 hour)")
@function(timeout=900, architecture="x86_64")
def hourly():
    return None
