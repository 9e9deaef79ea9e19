"""The peers' tiny app on strato: GET JSON, a table put + get per request, a WebSocket broadcast."""

import time

import strato

app = strato.App("peerbench")
api = app.http()
items = app.table("items", key="id")
live = app.websocket("live")


@api.get("/hello/{name}")
def hello(req, name):
    return {"hello": name, "n": len(name)}


@api.get("/item/{item_id}")
def item(req, item_id):
    items.put({"id": item_id, "n": len(item_id)})
    return items.get(item_id)


@live.route("blast")
def blast(msg):
    return {"sent": live.broadcast({"t": time.time(), "pad": "x" * 100})}
