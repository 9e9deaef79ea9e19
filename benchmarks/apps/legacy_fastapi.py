"""A small FastAPI app (dependency injection, a response model) that the mount benchmarks serve through
strato's Lambda path and through Mangum."""

from fastapi import Depends, FastAPI, Header, Query
from pydantic import BaseModel

legacy = FastAPI()


class Item(BaseModel):
    id: int
    owner: str
    tags: list[str]


def owner(x_user: str = Header(default="anonymous")) -> str:
    return x_user


@legacy.get("/items/{item_id}", response_model=Item)
async def read(item_id: int, tag: list[str] | None = Query(default=None), user: str = Depends(owner)) -> Item:
    return Item(id=item_id, owner=user, tags=tag or [])
