"""An app to attack: routes that parse JSON and use a table, kv, cache and bucket; a schedule with a
visible effect; an open WebSocket API and one with auth=True."""

import strato

app = strato.App("attack")
notes = app.table("notes", key="id")
flags = app.kv("flags")
counters = app.cache("counters")
files = app.bucket("files")
users = app.user_pool("users")
live = app.websocket("live")
staff = app.websocket("staff", auth=True)
api = app.http()


@app.schedule("rate(1 day)")
def nightly():
    flags.set("nightly", "ran")


@api.get("/flag/{name}")
def flag(req, name):
    return {"value": flags.get(name)}


@api.post("/notes")
def put_note(req):
    body = req.json()
    if not isinstance(body, dict):
        return 400, {"message": "an object, please"}
    return notes.put({**body, "id": str(body.get("id", "n"))})


@api.post("/kv/{key}")
def put_kv(req, key):
    flags.set(key, req.text)
    return {"ok": True}


@api.post("/cache/{key}")
def put_cache(req, key):
    counters.set(key, req.json())
    return {"value": counters.get(key)}


@api.post("/files/{key+}")
def put_file(req, key):
    files.put(key, req.text)
    return {"ok": True}


@api.post("/signup")
def signup(req):
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("email"), str):
        return 400, {"message": "email and password, please"}
    users.sign_up(body["email"], str(body.get("password")))
    return 201, {"ok": True}


@api.get("/connections")
def connections(req):
    return {"ids": [c.id for c in live.connections()]}


@api.get("/counts")
def counts(req):
    return {k: counters.get(f"ws-{k}") or 0 for k in ("connects", "disconnects")}


@live.on_connect
def connect(conn):
    if conn.query.get("user") == "refused":
        raise strato.HTTPError(403, "refused")
    counters.incr("ws-connects")
    conn.data.update(user=conn.query.get("user", "anon"))


@live.on_disconnect
def disconnect(msg):
    counters.incr("ws-disconnects")


@live.on_message
def default(msg):
    try:
        body = msg.json()
    except strato.ValidationError as exc:  # as an app would: bad input is the client's problem
        return {"error": exc.message}
    return {"echo": body}
