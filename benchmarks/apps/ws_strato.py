import time

import strato

app = strato.App("wsbench")
live = app.websocket("live")


@live.route("blast")
def blast(msg):
    """A client message fans out to every connection, as in a chat room."""
    return {"sent": live.broadcast({"t": time.time(), "pad": "x" * 100})}
