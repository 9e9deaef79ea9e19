"""Cold start: the same FastAPI app through Mangum, handling one event."""

from legacy_fastapi import legacy
from mangum import Mangum

handler = Mangum(legacy, lifespan="auto", api_gateway_base_path="/legacy")
