"""Typed path and query parameters without any model: pydantic is never imported."""

import strato

app = strato.App("scalars")
api = app.http()


@api.get("/pages/{page}")
def page(req, page: int, size: int = 20, draft: bool = False):
    return {"page": page, "size": size, "draft": draft}


handler = app.lambda_handler
