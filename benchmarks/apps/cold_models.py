"""Cold start: an HTTP app with a pydantic body model (pydantic loads: measured, not avoided)."""

from pydantic import BaseModel

import strato


class Note(BaseModel):
    title: str


app = strato.App("coldmodels")
api = app.http()


@api.post("/notes")
def create(req, note: Note):
    return 201, {"id": "n1", "title": note.title}


handler = app.lambda_handler
