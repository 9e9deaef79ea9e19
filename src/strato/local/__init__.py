"""The local gateway: ``strato dev`` serves an App the way API Gateway + Lambda would."""

from .server import build_asgi

__all__ = ["build_asgi"]
