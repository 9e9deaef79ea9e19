"""A topic app that is also its own SNS webhook receiver, for end-to-end tests under strato dev."""

import json
import urllib.request

import strato
from strato.topic.envelope import verify

app = strato.App("topictest")
events = app.topic("events")
received = app.table("received", key="id")
api = app.http()


@api.post("/subscribe")
def subscribe(req):
    body = req.json()
    sub = events.subscribe_webhook(body["url"], filter=body.get("filter"))
    return 201, sub.as_dict()


@api.post("/publish")
def publish(req):
    body = req.json()
    return 202, {"id": events.publish(body["message"], attributes=body.get("attributes"))}


@api.post("/hooks/sns")
def sns_hook(req):
    try:
        message = verify(req.body, allow_local=True)  # fetches the certificate from this dev server
    except strato.ValidationError as exc:
        return 403, {"message": str(exc)}
    if message["Type"] == "SubscriptionConfirmation":
        with urllib.request.urlopen(message["SubscribeURL"], timeout=5) as response:
            response.read()
        return {"confirmed": True}
    received.put({"id": message["MessageId"], "message": message["Message"], "headers": dict(req.headers)})
    return {"ok": True}


@api.get("/received")
def list_received(req):
    return {"items": [received.get(i) for i in json.loads(req.query.get("ids", "[]"))]}
