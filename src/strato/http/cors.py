"""CORS as an API Gateway HTTP API applies it: preflights answered by the gateway, headers added
to every response, and any CORS headers the handler set replaced by the configured ones."""

from __future__ import annotations

from collections.abc import Sequence


class Cors:
    """The CORS configuration of an HTTP API (API Gateway's CorsConfiguration)."""

    def __init__(
        self,
        allow_origins: Sequence[str] = ("*",),
        allow_methods: Sequence[str] = ("*",),
        allow_headers: Sequence[str] = ("*",),
        expose_headers: Sequence[str] = (),
        max_age: int = 0,
        allow_credentials: bool = False,
    ) -> None:
        self.allow_origins = tuple(allow_origins)
        self.allow_methods = tuple(allow_methods)
        self.allow_headers = tuple(allow_headers)
        self.expose_headers = tuple(expose_headers)
        self.max_age = max_age
        self.allow_credentials = allow_credentials

    def origin_allowed(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for this origin, or None if it is not allowed."""
        if not origin:
            return None
        if "*" in self.allow_origins:
            return origin if self.allow_credentials else "*"
        return origin if origin in self.allow_origins else None

    def preflight(self, origin: str | None, method: str | None) -> dict[str, str] | None:
        allowed = self.origin_allowed(origin)
        if allowed is None or not method:
            return None
        if "*" not in self.allow_methods and method.upper() not in {m.upper() for m in self.allow_methods}:
            return None
        headers = {
            "access-control-allow-origin": allowed,
            "access-control-allow-methods": ",".join(self.allow_methods),
            "access-control-allow-headers": ",".join(self.allow_headers),
        }
        if self.max_age:
            headers["access-control-max-age"] = str(self.max_age)
        if self.allow_credentials:
            headers["access-control-allow-credentials"] = "true"
        if allowed != "*":
            headers["vary"] = "Origin"
        return headers

    def apply(self, headers: dict[str, str], origin: str | None) -> None:
        for name in [h for h in headers if h.startswith("access-control-")]:
            del headers[name]
        allowed = self.origin_allowed(origin)
        if allowed is None:
            return
        headers["access-control-allow-origin"] = allowed
        if self.expose_headers:
            headers["access-control-expose-headers"] = ",".join(self.expose_headers)
        if self.allow_credentials:
            headers["access-control-allow-credentials"] = "true"
        if allowed != "*":
            headers["vary"] = "Origin"
