"""A FastAPI app (its own dependency injection, validation and lifespan) mounted under /legacy next to
strato routes, in one API and one function."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

import strato

STARTS: list[str] = []


@asynccontextmanager
async def lifespan(_app):
    STARTS.append("start")
    yield {"greeting": "hello from lifespan"}
    if marker := os.environ.get("MOUNTED_APP_SHUTDOWN_FILE"):  # tests see the shutdown ran
        with open(marker, "w") as out:
            out.write("stopped")


legacy = FastAPI(lifespan=lifespan)


class Order(BaseModel):
    sku: str
    quantity: int


def current_user(x_user: str = Header(default="anonymous")) -> str:
    if x_user == "banned":
        raise HTTPException(403, "banned")
    return x_user


@legacy.get("/whoami")
async def whoami(request: Request, user: str = Depends(current_user), tag: list[str] = Query(default=[])):
    return {
        "user": user,
        "tags": tag,
        "cookies": dict(request.cookies),
        "greeting": request.state.greeting,
        "starts": len(STARTS),
        "path": request.url.path,
        "root_path": request.scope.get("root_path"),
        "request_id": request.scope["aws.event"]["requestContext"]["requestId"],
    }


@legacy.post("/orders", status_code=201)
def place(order: Order, response: Response, user: str = Depends(current_user)):
    response.set_cookie("last_sku", order.sku)
    response.set_cookie("session", "s1", httponly=True)
    return {"user": user, "total": order.quantity, "sku": order.sku}


@legacy.post("/binary")
async def binary(request: Request):
    data = await request.body()
    return Response(bytes(reversed(data)), media_type="application/octet-stream")


@legacy.get("/stream")
def stream(chunks: int = 3, size: int = 10):
    return StreamingResponse((b"x" * size for _ in range(chunks)), media_type="text/plain")


@legacy.get("/boom")
def boom():
    raise RuntimeError("failure inside the mounted app")


async def admin(scope, receive, send):
    """A bare ASGI app: no lifespan (it returns on that scope), the claims from the raw event."""
    if scope["type"] != "http":
        return
    claims = scope["aws.event"]["requestContext"]["authorizer"]["jwt"]["claims"]
    body = f'{{"admin": "{claims["cognito:username"]}", "path": "{scope["path"]}"}}'.encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


app = strato.App("mounted")
api = app.http()
staff = app.user_pool("staff")
api.mount("/legacy", legacy)
api.mount("/admin", admin, auth=True, groups=["admin"])


@api.get("/native/{n}")
def native(req, n: int):
    return {"n": n, "native": True}


handler = app.lambda_handler
