"""A static web front end: ``app.site("web", directory="web/dist", spa=True)``.

``strato dev`` serves the directory as CloudFront would (content types, ETag / 304, Cache-Control,
gzip and Brotli, ranges, the SPA fallback) beside the HTTP API; ``strato deploy`` puts it in a
private S3 bucket behind a CloudFront distribution. Either way the front end reads its settings (API
and WebSocket URLs, user pool, region, stage) from ``/strato-config.json``, so one build runs
unchanged locally and in every stage.
"""

from __future__ import annotations

import re

from ..core.context import Context
from ..core.errors import ConfigurationError
from ..core.hints import Any
from ..core.resource import Backend, Resource
from .spi import ACTIONS, CAPABILITIES, PRICE_CLASSES

_CONFIG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.json$")
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")


class Site(Resource[Backend]):
    """A directory of built front-end files. ``directory`` is relative to the file that declares the
    site; it must exist when declared unless ``build`` makes it (then it must exist after the build)."""

    kind = "site"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(
        self,
        ctx: Context,
        name: str,
        directory: str,
        *,
        base: str,
        spa: bool = False,
        prefix: str = "/",
        auth: Any = None,
        build: str | None = None,
        config_name: str = "strato-config.json",
        price_class: str = "PriceClass_100",
        api_origin: bool | None = None,
    ) -> None:
        import os

        super().__init__(ctx, name, None, ())
        if not isinstance(directory, str) or not directory:
            raise ConfigurationError(f"site {name!r}: directory= must be a path to the built files, got {directory!r}")
        self.directory = os.path.normpath(os.path.join(base, os.path.expanduser(directory)))
        self.base = base
        self.spa = bool(spa)
        self.prefix = _check_prefix(name, prefix)
        if auth is not None and auth is not True and getattr(auth, "kind", None) != "user_pool":
            raise ConfigurationError(
                f"site {name!r}: auth= takes a user pool (app.user_pool(...)) or True, got {auth!r}"
            )
        self.auth = auth
        if build is not None and (not isinstance(build, str) or not build.strip()):
            raise ConfigurationError(f"site {name!r}: build= must be a shell command such as 'npm run build'")
        self.build = build
        if not _CONFIG_NAME.match(config_name):
            raise ConfigurationError(
                f"site {name!r}: config_name={config_name!r} must be a plain file name ending in .json"
            )
        self.config_name = config_name
        if price_class not in PRICE_CLASSES:
            raise ConfigurationError(
                f"site {name!r}: price_class={price_class!r} is not one of {', '.join(sorted(PRICE_CLASSES))}"
            )
        self.price_class = price_class
        self.api_origin = api_origin
        if build is None:
            self.check_directory()

    def check_directory(self) -> None:
        """The directory exists and is a directory (a typo or a missing build fails here, with the path)."""
        import os

        if not os.path.isdir(self.directory):
            why = "is not a directory" if os.path.exists(self.directory) else "does not exist"
            hint = " (build the front end first, or pass build='npm run build')" if self.build is None else ""
            raise ConfigurationError(f"site {self.name!r}: directory {self.directory} {why}{hint}")

    @property
    def pool(self) -> Any:
        """The user pool every page needs a signed-in user of (None: a public site)."""
        if self.auth is None:
            return None
        if self.auth is True:
            pool = self.ctx.find("user_pool", None)
            if pool is None:
                raise ConfigurationError(f"site {self.name!r}: auth=True needs exactly one user pool on the app")
            return pool
        return self.auth

    @property
    def signin_path(self) -> str:
        """The local sign-in page (``strato dev``) of a site with ``auth=``."""
        return f"{self.prefix.rstrip('/')}/_strato-signin"

    @property
    def token_path(self) -> str:
        """Where the signed-in page's script gets its ID token (site/gate.py), locally and at the edge."""
        return f"{self.prefix.rstrip('/')}/_strato-token"

    @property
    def config_path(self) -> str:
        """Where the front end fetches its settings: ``/strato-config.json`` under the site's prefix."""
        return f"{self.prefix.rstrip('/')}/{self.config_name}"

    @property
    def module_path(self) -> str:
        """The ES module that reads them: the config's path with ``.js`` (``/strato-config.js``)."""
        return self.config_path[: -len(".json")] + ".js"

    def __repr__(self) -> str:
        return f"<Site {self.name} {self.directory} prefix={self.prefix} spa={self.spa}>"


def _check_prefix(name: str, prefix: str) -> str:
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise ConfigurationError(f"site {name!r}: prefix={prefix!r} must start with '/' ('/' or '/app')")
    trimmed = prefix.rstrip("/")
    if not _PREFIX.match(trimmed) or trimmed.split("/")[1:2] in (["_strato"], ["ws"]):
        raise ConfigurationError(
            f"site {name!r}: prefix={prefix!r} must be '/' or plain path segments outside /_strato and /ws"
        )
    return trimmed or "/"
