"""Every primitive and trigger strato synthesises, with narrowed allow= declarations."""

import strato

app = strato.App("everything")
reports = app.table("reports", key="id", sort="ts:number", indexes={"by_user": "user"}, ttl="exp", allow=("read",))
users = app.table("users", key="id")
sessions = app.kv("sessions")
counters = app.cache("counters", allow=("read", "write"))
files = app.bucket("files", expire_after_days=7, allow=("read", "list"))
uploads = app.bucket("uploads")
jobs = app.queue("jobs", max_receive_count=3, visibility_timeout=60, allow=("send",))
orders = app.queue("orders", fifo=True, content_dedup=True)
events = app.topic("events", allow=("publish",))
ordered = app.topic("ordered", fifo=True, content_dedup=True)
db = app.sql("main")
live = app.websocket("live", index=["user"])
members = app.user_pool("members", mfa="optional", allow=("admin",))
rooms = app.meetings("rooms")
staff = app.websocket("staff", auth=True, groups=["admins"])
api = app.http(cors=strato.Cors(allow_origins=["https://app.example"], expose_headers=["x-total"], max_age=300))

events.subscribe_queue(jobs, filter={"status": ["done"]})
ordered.subscribe_queue(orders)


@api.get("/reports/{id}")
def get_report(req, id):
    return reports.get((id, 1)) or (404, {})


@api.post("/files/{path+}")
def put_file(req, path):
    return {"ok": True}


@api.get("/me", auth=True)
def me(req):
    return {"sub": req.claims.get("sub")}


@api.delete("/reports/{id}", groups=["admins"])
def delete_report(req, id):
    return 204


@staff.on_message
def staff_message(msg):
    return {"from": msg.claims.get("sub")}


@api.any("/anything")
def anything(req):
    return {}


@jobs.consumer(batch_size=5, max_concurrency=4)
def work(msg):
    pass


@orders.consumer()
def in_order(msg):
    pass


@events.subscribe(filter={"user": [{"exists": True}]}, max_attempts=3)
def notify(note):
    pass


@uploads.on_change(events=["created"], prefix="in/", suffix=".png")
def thumbnail(event):
    pass


@app.schedule("rate(6 hours)")
def backup(event):
    pass


@app.schedule("cron(0 9 ? * MON-FRI *)")
def weekday_report():
    pass


@live.on_connect
def connect(conn):
    conn.data["user"] = conn.query.get("user", "anon")


@live.route("say")
def say(msg):
    return {"ok": True}
