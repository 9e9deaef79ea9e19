"""Cold start: a FastAPI app mounted on strato's HTTP API, handling one event."""

from legacy_fastapi import legacy

import strato

app = strato.App("coldmount")
api = app.http()
api.mount("/legacy", legacy)
handler = app.lambda_handler
