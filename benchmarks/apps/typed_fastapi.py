"""The same validated route in FastAPI."""

from fastapi import FastAPI
from typed_models import Item, NewItem

app = FastAPI()


@app.post("/items/{shelf}", response_model=Item, response_model_by_alias=True)
def create(shelf: int, item: NewItem, dry_run: bool = False) -> Item:
    return Item(item_id=shelf * 100 + len(item.tags), name=item.name, price=item.price, dry_run=dry_run)
