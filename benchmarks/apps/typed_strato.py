"""A validated route in strato: body model, typed path and query parameters, a response model."""

from typed_models import Item, NewItem

import strato

app = strato.App("typedbench")
api = app.http()


@api.post("/items/{shelf}")
def create(req, shelf: int, item: NewItem, dry_run: bool = False) -> Item:
    return Item(item_id=shelf * 100 + len(item.tags), name=item.name, price=item.price, dry_run=dry_run)
