"""Typed handlers: pydantic models for bodies and responses, typed path and query parameters."""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Annotated

from pydantic import BaseModel, Field

import strato

app = strato.App("typed")
api = app.http()
members = app.user_pool("members")


class NewItem(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    tags: list[str] = []


class Item(BaseModel):
    item_id: int = Field(serialization_alias="itemId")
    name: str
    price: float
    note: str | None = None


@api.post("/items/{shelf}", summary="Put an item on a shelf", tags=["items"])
def create(req, shelf: int, item: NewItem, dry_run: bool = False) -> Item:
    """Create an item."""
    return Item(item_id=shelf * 100 + len(item.tags), name=item.name + (" (dry)" if dry_run else ""), price=item.price)


@api.get("/items/{item_id}", response_model=Item, exclude_none=True)
def read(req, item_id: int, fields: list[str] | None = None, limit: int = 10):
    if item_id == 13:
        return {"item_id": 13, "name": None, "price": "free"}  # breaks the response model: a 500
    return {"item_id": item_id, "name": f"limit={limit} fields={fields}", "price": 1.5}


@api.get("/scale")
async def scale(req, x: float, times: int = 2, exact: bool | None = None):
    return {"value": x * times, "exact": exact}


@api.get("/orders/{order_id}")
def order(req, order_id: uuid.UUID):
    return {"order": str(order_id), "version": order_id.version}


@api.get("/plain/{name}")
def plain(req, name, unused=3):
    return {"name": name, "type": type(name).__name__, "unused": unused}


@api.post("/secured", auth=True, groups=["admin"])
def secured(req, item: NewItem) -> Item:
    return Item(item_id=1, name=item.name, price=item.price)


class Color(enum.IntEnum):
    RED = 1
    GREEN = 2


@api.get("/paint/{color}")
def paint(req, color: Color, on: datetime.date | None = None):
    return {"color": color.name, "on": on, "items": [Item(item_id=1, name="brush", price=2)]}


@api.put("/items/{item_id}")
async def replace(req, item_id: int, item: NewItem):
    return 201, Item(item_id=item_id, name=item.name, price=item.price), {"x-replaced": "yes"}


@api.get("/batch")
def batch(
    req, ids: Annotated[list[uuid.UUID], Field(max_length=2)] | None = None, top: Annotated[int, Field(gt=0)] = 1
):
    return {"ids": [str(i) for i in ids or []], "top": top}
