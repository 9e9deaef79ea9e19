"""What ``App`` declares that people and browsers talk to: the HTTP API, WebSocket APIs, GraphQL, static
sites, the user pool behind ``auth=True`` and meetings.

A mixin, as ``production.py`` is, so app.py stays within one screenful of concepts; every method imports its
primitive on call (``http()`` is on a Lambda cold start, the module costs nothing more than its own load).
"""

from __future__ import annotations

import os

from .core.errors import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays out of a Lambda cold start
    from typing import Any, TypeVar

    from .auth import UserPool
    from .core.config import Config
    from .core.context import Context
    from .core.resource import Resource
    from .graphql import GraphQL
    from .http import HttpApi
    from .meetings import Meetings
    from .site import Site
    from .websocket import WebSocketApi

    R = TypeVar("R", bound=Resource)


class Interactive:
    if TYPE_CHECKING:  # what App provides
        name: str
        config: Config
        context: Context
        _http: HttpApi | None

        def _declare(self, resource: R) -> R: ...

        def of_kind(self, kind: str) -> list[Any]: ...

    def http(self, *, cors: Any = None, timeout: float = 29.0, function: Any = None) -> HttpApi:
        """The app's HTTP API (one per app; calling again returns it). ``function=`` its Lambda's settings."""
        from .http import HttpApi

        if self._http is None:
            self._http = HttpApi(self.context, cors=cors, timeout=timeout)
            if function is not None:
                from .core.function_settings import FunctionSettings

                self._http.function_settings = FunctionSettings.of(function, "app.http()")
        elif cors is not None or timeout != 29.0 or function is not None:
            raise ConfigurationError("app.http() options can only be given the first time it is called")
        return self._http

    def user_pool(
        self,
        name: str = "users",
        *,
        password_policy: Any = None,
        mfa: str = "off",
        prevent_user_existence_errors: bool = True,
        self_sign_up: bool = True,
        provider: str | None = None,
        allow: Any = None,
    ) -> UserPool:
        """A user pool (Cognito): sign-up, sign-in, MFA, groups and the JWTs ``auth=True`` routes check.
        ``allow=()`` keeps the admin calls (create / disable / delete users, groups) out of the code;
        ``prevent_user_existence_errors=False`` is Cognito's LEGACY (UserNotFoundException for unknown users);
        ``self_sign_up=False`` lets only admins create users (AllowAdminCreateUserOnly)."""
        from .auth import UserPool

        return self._declare(
            UserPool(
                self.context,
                name,
                password_policy=password_policy,
                mfa=mfa,
                prevent_user_existence_errors=prevent_user_existence_errors,
                self_sign_up=self_sign_up,
                provider=provider,
                allow=allow,
            )
        )

    def meetings(
        self, name: str = "meetings", *, media_region: str | None = None, provider: str | None = None, allow: Any = None
    ) -> Meetings:
        """Meetings and attendees (Chime SDK); locally a registry plus WebRTC signalling under strato dev."""
        from .meetings import Meetings

        return self._declare(Meetings(self.context, name, media_region=media_region, provider=provider, allow=allow))

    def site(
        self,
        name: str,
        *,
        directory: str,
        spa: bool = False,
        prefix: str = "/",
        auth: Any = None,
        build: str | None = None,
        config_name: str = "strato-config.json",
        price_class: str = "PriceClass_100",
        api_origin: bool | None = None,
    ) -> Site:
        """A static front end: ``strato dev`` serves ``directory`` (relative to the declaring file) at
        ``prefix``; on AWS it is an S3 bucket behind CloudFront. It reads ``/strato-config.json``."""
        import sys

        from .site import Site

        caller = sys._getframe(1).f_globals.get("__file__")
        base = os.path.dirname(os.path.abspath(caller)) if caller else os.getcwd()
        return self._declare(
            Site(
                self.context,
                name,
                directory,
                base=base,
                spa=spa,
                prefix=prefix,
                auth=auth,
                build=build,
                config_name=config_name,
                price_class=price_class,
                api_origin=api_origin,
            )
        )

    @property
    def auth(self) -> UserPool:
        """The app's user pool when it has exactly one (what ``auth=True`` routes verify against)."""
        pools = self.of_kind("user_pool")
        if len(pools) != 1:
            raise ConfigurationError(f"app.auth needs exactly one user pool; {self.name!r} declares {len(pools)}")
        return pools[0]

    def websocket(
        self,
        name: str,
        *,
        route_selection: str = "$request.body.action",
        index: Any = (),
        idle_timeout: float = 600,
        max_duration: float = 7200,
        provider: str | None = None,
        allow: Any = None,
        auth: Any = None,
        groups: Any = None,
        function: Any = None,
    ) -> WebSocketApi:
        """A WebSocket API (API Gateway). ``index`` names connection data fields you will look up by;
        ``auth=True`` / ``groups=[...]`` check a user-pool token on ``$connect`` (``?token=`` or Authorization)."""
        from .websocket import WebSocketApi

        ws = self._declare(
            WebSocketApi(
                self.context,
                name,
                route_selection=route_selection,
                index=index,
                idle_timeout=idle_timeout,
                max_duration=max_duration,
                provider=provider,
                allow=allow,
            )
        )
        ws.auth_options = {"auth": auth, "groups": list(groups) if groups else None}
        if function is not None:
            from .core.function_settings import FunctionSettings

            ws.function_settings = FunctionSettings.of(function, f"websocket {name!r}")
        self._declare(ws.registry.table)
        return ws

    def graphql(
        self,
        schema: Any,
        *,
        path: str = "/graphql",
        name: str = "graphql",
        auth: Any = None,
        groups: Any = None,
        max_depth: int | None = 10,
        max_complexity: int | None = None,
        max_document_bytes: int = 32 * 1024,
        persisted_queries: Any = None,
        only_persisted: bool = False,
    ) -> GraphQL:
        """A Strawberry schema on the HTTP API at ``path`` (GraphQL over HTTP; GraphiQL under ``strato dev``)
        and, when it has a Subscription type, on the WebSocket API ``name`` (graphql-transport-ws).
        ``auth=True`` / ``groups=[...]`` check a user-pool token on both; publish with ``graph.publish``."""
        from .graphql import GraphQL, Limits

        limits = Limits(max_depth=max_depth, max_complexity=max_complexity, max_document_bytes=max_document_bytes)
        ws = None
        if getattr(getattr(schema, "_schema", None), "subscription_type", None) is not None:
            # every message is routed by its graphql-transport-ws type; subscriptions are found by field
            ws = self.websocket(name, route_selection="$request.body.type", index=["topic"])
        under_dev = bool(os.environ.get("STRATO_DEV_URL")) and self.config.provider == "local"
        return self._declare(
            GraphQL(
                self.context,
                name,
                schema,
                http=self.http(),
                websocket=ws,
                path=path,
                auth=auth,
                groups=groups,
                limits=limits,
                persisted_queries=persisted_queries,
                only_persisted=only_persisted,
                graphiql=under_dev,
            )
        )
