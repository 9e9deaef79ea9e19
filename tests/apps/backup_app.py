"""An app written to under load while `strato backup` runs (tests/test_backup_local.py): each route is one
write of one kind, so a consistent snapshot holds a prefix of each writer's sequence."""

import strato

app = strato.App("backuptest")
items = app.table("items", key="writer", sort="seq:number")
jobs = app.queue("jobs")
files = app.bucket("files")
api = app.http()


def object_op(seq: int) -> tuple[str, str, str | None]:
    """The bucket write numbered ``seq``: overwrite a slot, add a log object, or delete an earlier log one."""
    if seq % 3 == 0:
        return "put", f"slot/{seq % 8}", f"{seq}:" + "s" * (seq % 7 * 3000)
    if seq % 3 == 1:
        return "put", f"log/{seq:06d}", f"{seq}:" + "l" * (seq % 5 * 2000)
    return "delete", f"log/{seq - 4:06d}", None


@api.post("/item/{seq}")
def put_item(req, seq: str):
    items.put({"writer": "w", "seq": int(seq), "pad": "x" * 300})
    return {"ok": True}


@api.post("/message/{seq}")
def send_message(req, seq: str):
    jobs.send(seq)
    return {"ok": True}


@api.post("/object/{seq}")
def write_object(req, seq: str):
    action, key, body = object_op(int(seq))
    if action == "put":
        files.put(key, body)
    else:
        files.delete(key)
    return {"ok": True}


@api.post("/pair/{seq}")
def write_pair(req, seq: str):
    """An object, then an item naming it: in a snapshot of one instant, no item without its object."""
    files.put(f"pair/{seq}", seq)
    items.put({"writer": "p", "seq": int(seq)})
    return {"ok": True}


@api.get("/item/{seq}")
def get_item(req, seq: str):
    return items.get({"writer": "w", "seq": int(seq)}) or {}
