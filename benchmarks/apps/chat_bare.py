"""The chat benchmark's baseline: the same fan-out with strato's WebSocket API alone (no user pool, no
tables): a connection names its room in the query, a message goes to the room through the registry."""

import strato

app = strato.App("chatbare")
live = app.websocket("live", index=["room"])


@live.on_connect
def connect(conn):
    conn.data["room"] = conn.query.get("room", "lobby")


@live.route("sendMessage")
def send_message(msg):
    body = msg.json()
    frame = {"type": "message", "id": strato.new_id(), "room": body["room"], "text": body["text"]}
    live.broadcast(frame, where={"room": body["room"]})
