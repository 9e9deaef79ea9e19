"""The models both typed-handler benchmark apps (strato, FastAPI) validate and return."""

from pydantic import BaseModel, Field


class NewItem(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    tags: list[str] = []


class Item(BaseModel):
    item_id: int = Field(serialization_alias="itemId")
    name: str
    price: float
    dry_run: bool
