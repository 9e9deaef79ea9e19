"""notes: a small HTTP API on a table and a kv namespace — the first strato example.

Run it:  strato dev examples/notes/app.py      then:  curl -H 'x-user-id: ana' localhost:8000/notes
"""

from __future__ import annotations

import strato
from strato import HTTPError, Request, Sort

app = strato.App("notes")
notes = app.table("notes", key="owner", sort="id", indexes={"by_tag": ("tag", "created_at:number")}, ttl="expires_at")
settings = app.kv("settings")
api = app.http(cors=strato.Cors(allow_origins=["*"], allow_headers=["content-type", "x-user-id"]))

MAX_TITLE = 200


def owner_of(req: Request) -> str:
    """Who is calling: a verified JWT's subject on AWS, the x-user-id header locally."""
    user = req.claims.get("sub") or req.headers.get("x-user-id")
    if not user:
        raise HTTPError(401, "send an x-user-id header (or a JWT when auth is on)")
    return user


def note_input(req: Request, partial: bool = False) -> dict:
    data = req.json()
    if not isinstance(data, dict):
        raise HTTPError(400, "send a JSON object")
    title = data.get("title")
    needs_title = not partial or title is not None
    if needs_title and (not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE):
        raise HTTPError(400, f"title must be a non-empty string of at most {MAX_TITLE} characters")
    for field in ("body", "tag"):
        if field in data and not isinstance(data[field], str):
            raise HTTPError(400, f"{field} must be a string")
    return data


@api.get("/healthz")
def health(req: Request):
    return {"ok": True}


@api.post("/notes")
def create(req: Request):
    data = note_input(req)
    note = {
        "owner": owner_of(req),
        "id": strato.new_id(),
        "title": data["title"],
        "body": data.get("body", ""),
        "created_at": strato.now(),  # strato.now(): a test's virtual clock moves it
        "version": 1,
    }
    if data.get("tag"):
        note["tag"] = data["tag"]
    ttl = data.get("ttl_seconds")
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0:
            raise HTTPError(400, "ttl_seconds must be a positive number")
        note["expires_at"] = strato.now() + ttl
    return 201, notes.put(note, if_absent=True)


@api.get("/notes")
def list_notes(req: Request):
    limit = req.query.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        raise HTTPError(400, "limit must be an integer from 1 to 100")
    page = notes.query(owner_of(req), newest_first=True, limit=int(limit), cursor=req.query.get("cursor"))
    return {"items": page.items, "cursor": page.cursor}


@api.get("/notes/{id}")
def get_note(req: Request, id: str):
    note = notes.get((owner_of(req), id))
    if note is None:
        raise HTTPError(404, f"note {id} not found")
    return note


@api.patch("/notes/{id}")
def edit_note(req: Request, id: str):
    """Optimistic concurrency: the client sends the version it read; a stale edit gets 409."""
    data = note_input(req, partial=True)
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise HTTPError(400, "send the version you are editing as an integer")
    changes = {k: data[k] for k in ("title", "body", "tag") if k in data}
    try:
        return notes.update((owner_of(req), id), set={**changes, "version": version + 1}, if_match={"version": version})
    except strato.ConditionFailed:
        raise HTTPError(409, f"note {id} changed since version {version} (or does not exist); reload it") from None


@api.delete("/notes/{id}")
def delete_note(req: Request, id: str):
    if notes.delete((owner_of(req), id)) is None:
        raise HTTPError(404, f"note {id} not found")
    return None


@api.get("/tags/{tag}")
def by_tag(req: Request, tag: str):
    """Notes with a tag, newest first, from the by_tag index (only the caller's)."""
    since = req.query.get("since")
    sort = Sort.gte(float(since)) if since and since.replace(".", "", 1).isdigit() else None
    user = owner_of(req)
    page = notes.query(tag, index="by_tag", sort=sort, newest_first=True, limit=100)
    return {"items": [n for n in page.items if n["owner"] == user]}


@api.put("/settings/{name}")
def put_setting(req: Request, name: str):
    settings.set(f"{owner_of(req)}/{name}", req.text)
    return 204, None


@api.get("/settings/{name}")
def get_setting(req: Request, name: str):
    value = settings.get(f"{owner_of(req)}/{name}")
    if value is None:
        raise HTTPError(404, f"no setting {name!r}")
    return strato.Response(value, content_type="text/plain; charset=utf-8")


handler = app.lambda_handler
