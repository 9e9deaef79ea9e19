"""An app exercising every HTTP behaviour the tests check (served by strato dev in tests)."""

import asyncio
import time

import strato
from strato import HTTPError, Request, Response

app = strato.App("httptest")
api = app.http(
    cors=strato.Cors(
        allow_origins=["https://ok.example"], allow_headers=["content-type"], expose_headers=["x-total"], max_age=600
    ),
    timeout=1.5,
)
items = app.table("items", key="id")


@api.get("/echo")
def echo(req: Request):
    return {
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "tags": req.query_list("tag"),
        "cookies": req.cookies,
        "ua": req.headers.get("User-Agent"),
        "route": req.route,
        "source_ip": req.source_ip,
        "request_id": req.request_id,
        "remaining_ms": req.context.get_remaining_time_in_millis() if req.context else None,
    }


@api.post("/echo")
def echo_body(req: Request):
    return {"json": req.json(), "length": len(req.body)}


@api.put("/raw")
def raw(req: Request):
    return Response(req.body, content_type="application/octet-stream")


@api.get("/items/{id}")
def get_item(req: Request, id: str):
    item = items.get(id)
    if item is None:
        raise HTTPError(404, f"item {id} not found")
    return item


@api.put("/items/{id}")
def put_item(req: Request, id: str):
    return 201, items.put({**req.json(), "id": id}, if_absent=req.query.get("create") == "1")


@api.get("/items/special")
def special(req: Request):
    return {"special": True}


@api.get("/files/{path+}")
def files(req: Request, path: str):
    return {"path": path}


@api.any("/anything")
def anything(req: Request):
    return {"method": req.method}


@api.get("/async")
async def async_handler(req: Request):
    await asyncio.sleep(0.01)
    return {"async": True}


@api.get("/slow")
def slow(req: Request):
    time.sleep(float(req.query.get("s", "3")))
    return {"slept": True}


@api.get("/boom")
def boom(req: Request):
    raise RuntimeError("secret internal detail")


@api.get("/invalid")
def invalid(req: Request):
    raise strato.ValidationError("the widget must be blue")


@api.get("/notjson")
def notjson(req: Request):
    return {"obj": object()}


@api.get("/huge")
def huge(req: Request):
    return "x" * (6 * 1024 * 1024 + 1)


@api.get("/text")
def text(req: Request):
    return "plain words"


@api.get("/bytes")
def binary(req: Request):
    return b"\x00\x01\x02\xff"


@api.get("/cookie")
def cookie(req: Request):
    return Response({"ok": True}, cookies=["session=abc; HttpOnly", "theme=dark"], headers={"X-Total": "3"})


@api.get("/tuple")
def tuple_headers(req: Request):
    return 202, {"accepted": True}, {"Location": "/jobs/1"}


@api.delete("/nothing")
def nothing(req: Request):
    return None


@api.get("/redirect")
def redirect(req: Request):
    return Response.redirect("/echo")
