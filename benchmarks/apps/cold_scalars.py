"""Cold start: an HTTP app with typed path/query parameters and no models (pydantic must stay out)."""

import strato

app = strato.App("coldscalars")
api = app.http()


@api.post("/notes")
def create(req, draft: bool = False, limit: int = 10):
    return 201, {"id": "n1", "title": req.json()["title"], "draft": draft, "limit": limit}


handler = app.lambda_handler
