"""App: the resources and handlers of one backend, and its single AWS entry point."""

from __future__ import annotations

import os
from collections.abc import Callable

from .core.config import Config, check_name
from .core.context import Context
from .core.errors import ConfigurationError
from .interactive import Interactive
from .production import Production
from .registry import Registry

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays out of a Lambda cold start: it costs more than the rest of this import
    from typing import Any, TypeVar

    from .backup import BackupPlan
    from .bucket import Bucket
    from .cache import Cache
    from .core.resource import Resource
    from .core.usage import Counter
    from .dispatch.http import HttpDispatcher
    from .http import HttpApi
    from .kv import KV
    from .metrics import Metrics
    from .queue import Queue
    from .schedule import Schedule
    from .sql import Sql
    from .table import Table, Transaction
    from .topic import Topic
    from .workflow import Workflow

    R = TypeVar("R", bound=Resource)
    F = TypeVar("F", bound=Callable[..., Any])


class App(Interactive, Production):
    """Declare resources on it (``app.table``, ``app.kv``, ``app.http``), then deploy or run it.

    Storage, messaging and workflows are declared here; HTTP, WebSocket, GraphQL, sites, user pools and
    meetings in ``Interactive``; function settings, tags and alarms in ``Production``.

    ``provider`` and ``data_dir`` override ``STRATO_PROVIDER`` / ``STRATO_DATA_DIR``; tests use
    them to run the same app against several providers.
    """

    def __init__(
        self,
        name: str,
        *,
        provider: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        stage: str | None = None,
    ) -> None:
        self.name = check_name("app", name)
        self.config = Config.from_env(name, provider=provider, data_dir=data_dir, stage=stage)
        self._usage: Counter | None = None
        self.registry = Registry(self.config, lambda: self.usage)
        self.context = Context(self.name, self.config, self.registry, lambda: self.usage, self._declare, self._find)
        self.resources: dict[tuple[str, str], Any] = {}
        self.schedules: list[Schedule] = []
        self.tasks: dict[str, Callable[..., Any]] = {}  # @app.task handlers any workflow's Task may name
        self._http: HttpApi | None = None
        self._http_dispatcher: HttpDispatcher | None = None
        self.backup_plan: BackupPlan | None = None
        self.output_aliases: dict[str, str] = {}

    def output(self, name: str, source: str) -> None:
        """Repeat the stack output ``source`` (as ``strato synth`` names it) under ``name`` too, for
        clients written against fixed output names (``app.output("WebSocketUrl", "RelayWebSocketApiUrl")``)."""
        if not name.isalnum() or not name[:1].isalpha() or len(name) > 255:
            raise ConfigurationError(f"output name {name!r}: letters and digits, starting with a letter")
        self.output_aliases[name] = source

    def _find(self, kind: str, name: str | None) -> Any:
        if name is not None:
            return self.resources.get((kind, name))
        found = self.of_kind(kind)
        return found[0] if len(found) == 1 else None

    def _declare(self, resource: R) -> R:
        check_name(resource.kind, resource.name)
        ident = (resource.kind, resource.name)
        if ident in self.resources:
            raise ConfigurationError(f"{resource.kind} {resource.name!r} is declared twice on app {self.name!r}")
        self.resources[ident] = resource
        return resource

    # -- resources ----------------------------------------------------------------------------
    def table(
        self,
        name: str,
        key: Any,
        sort: Any = None,
        *,
        indexes: dict[str, Any] | None = None,
        ttl: str | None = None,
        decimals: bool = False,
        provider: str | None = None,
        allow: Any = None,
    ) -> Table:
        """A document table (DynamoDB). ``key="id"``, ``sort="ts:number"``, ``indexes={"by_user": "user_id"}``."""
        from .table import Table

        return self._declare(
            Table(
                self.context,
                name,
                key,
                sort,
                indexes=indexes,
                ttl=ttl,
                decimals=decimals,
                provider=provider,
                allow=allow,
            )
        )

    def kv(self, name: str, *, provider: str | None = None, allow: Any = None) -> KV:
        """A key-value namespace (DynamoDB, or Redis with ``provider="redis"``)."""
        from .kv import KV

        return self._declare(KV(self.context, name, provider=provider, allow=allow))

    def queue(
        self,
        name: str,
        *,
        fifo: bool = False,
        content_dedup: bool = False,
        visibility_timeout: int = 30,
        delay: int = 0,
        retention: int = 4 * 86_400,
        max_receive_count: int | None = None,
        provider: str | None = None,
        allow: Any = None,
    ) -> Queue:
        """A queue (SQS). ``max_receive_count`` also declares ``<name>-dlq`` and wires it as the DLQ."""
        from .queue import MAX_RETENTION_S, Queue

        queue = self._declare(
            Queue(
                self.context,
                name,
                fifo=fifo,
                content_dedup=content_dedup,
                visibility_timeout=visibility_timeout,
                delay=delay,
                retention=retention,
                max_receive_count=max_receive_count,
                provider=provider,
                allow=allow,
            )
        )
        if max_receive_count is not None:
            queue.dlq = self._declare(
                Queue(
                    self.context,
                    f"{name}-dlq",
                    fifo=fifo,
                    content_dedup=content_dedup,
                    retention=MAX_RETENTION_S,
                    provider=provider,
                    dead_letter_for=queue,
                )
            )
        return queue

    def topic(
        self,
        name: str,
        *,
        fifo: bool = False,
        content_dedup: bool = False,
        provider: str | None = None,
        allow: Any = None,
    ) -> Topic:
        """A topic (SNS). Run-time webhook subscriptions dead-letter into ``<name>-webhooks-dlq``."""
        from .queue import MAX_RETENTION_S
        from .topic import Topic

        topic = self._declare(
            Topic(self.context, name, fifo=fifo, content_dedup=content_dedup, provider=provider, allow=allow)
        )
        topic.webhooks_dlq = self.queue(f"{name}-webhooks-dlq", retention=MAX_RETENTION_S, provider=provider)
        return topic

    def schedule(
        self, expression: str, *, name: str | None = None, workflow: Workflow | None = None, input: Any = None
    ) -> Callable[[F], F]:
        """``@app.schedule("rate(5 minutes)")`` / ``cron(0 */6 * * ? *)`` / ``at(...)``: EventBridge syntax, UTC.

        The handler takes the EventBridge scheduled event, or no argument at all. With ``workflow=`` the
        schedule starts an execution of that workflow with ``input`` at each firing (an EventBridge Scheduler
        target on AWS): it is declared by the call itself and takes no handler.
        """
        import re

        from .schedule import Schedule

        parsed = Schedule(expression)  # a bad expression fails here, on the decorator's line
        if workflow is not None:
            from .schedule.workflow import declare

            return declare(self, parsed, workflow, input, name)
        if input is not None:
            raise ConfigurationError("schedule input= is for workflow= schedules (a handler takes the event)")

        def register(fn: F) -> F:
            label = name or re.sub(r"[^A-Za-z0-9]+", "-", fn.__name__).strip("-") or "schedule"
            check_name("schedule", label)
            if any(s.name == label for s in self.schedules):
                raise ConfigurationError(f"schedule {label!r} is declared twice on app {self.name!r}")
            parsed.handler, parsed.name = fn, label
            self.schedules.append(parsed)
            return fn

        return register

    def bucket(
        self,
        name: str,
        *,
        expire_after_days: int | None = None,
        provider: str | None = None,
        allow: Any = None,
        versioning: bool = False,
        transition_after_days: dict[int, str] | None = None,
        noncurrent_expire_after_days: int | None = None,
    ) -> Bucket:
        """Object storage (S3). ``expire_after_days`` / ``transition_after_days`` add lifecycle rules (a local
        sweeper); ``versioning=True`` keeps every version (and ``noncurrent_expire_after_days`` ends them)."""
        from .bucket import Bucket

        return self._declare(
            Bucket(
                self.context,
                name,
                expire_after_days=expire_after_days,
                provider=provider,
                allow=allow,
                versioning=versioning,
                transition_after_days=transition_after_days,
                noncurrent_expire_after_days=noncurrent_expire_after_days,
            )
        )

    def backups(self, *, every: str = "1 day", keep_days: int = 35, exclude: Any = ()) -> BackupPlan:
        """An AWS Backup plan over every table and bucket (but ``exclude``): a recovery point ``every``
        ("6 hours", "1 day", "1 week", "cron(...)"), each kept ``keep_days``. Tables keep point-in-time
        recovery besides; buckets get versioning (AWS Backup needs it). Locally: ``strato backup``."""
        from .backup import BackupPlan

        if self.backup_plan is not None:
            raise ConfigurationError(f"app {self.name!r} declares backups twice")
        self.backup_plan = BackupPlan.declare(every, keep_days, exclude)
        return self.backup_plan

    def metrics(
        self, namespace: str, *, retention_days: int = 455, provider: str | None = None, allow: Any = None
    ) -> Metrics:
        """Custom metrics (CloudWatch) in ``namespace``: put, query any statistic, alarm. ``retention_days``
        bounds the local store (downsampled as CloudWatch ages data: 1 min for 15 days, 5 min to 63, then 1 h)."""
        from .metrics import Metrics

        return self._declare(
            Metrics(self.context, namespace, retention_days=retention_days, provider=provider, allow=allow)
        )

    def cache(self, name: str = "cache", *, provider: str | None = None, allow: Any = None) -> Cache:
        """A cache: SQLite locally, Redis / ElastiCache with ``provider="redis"``, DynamoDB or ElastiCache on AWS."""
        from .cache import Cache

        return self._declare(Cache(self.context, name, provider=provider, allow=allow))

    def sql(self, name: str = "main", *, provider: str | None = None, allow: Any = None) -> Sql:
        """A relational database: SQLite locally, PostgreSQL (RDS / Aurora) with ``provider="postgres"``
        or on AWS. Parameters are ``:name`` placeholders with a dict, on every engine."""
        from .sql import Sql

        return self._declare(Sql(self.context, name, provider=provider, allow=allow))

    def workflow(
        self,
        name: str,
        *,
        definition: Any,
        type: str = "STANDARD",
        provider: str | None = None,
        allow: Any = None,
    ) -> Workflow:
        """A state machine (Step Functions) from Amazon States Language: a dict or a .json / .yaml path,
        validated here as CreateStateMachine validates it. ``type`` is STANDARD or EXPRESS."""
        from .workflow import Workflow

        return self._declare(
            Workflow(
                self.context,
                name,
                definition,
                type=type,
                app_tasks=self.tasks,
                app_resources=self.of_kind,
                provider=provider,
                allow=allow,
            )
        )

    def task(self, name: str | None = None) -> Callable[[F], F]:
        """``@app.task("FetchData")``: a Python task handler any workflow's Task may name as its Resource."""

        def register(fn: F) -> F:
            label = name or fn.__name__
            if label in self.tasks:
                raise ConfigurationError(f"the app already has a task {label!r}")
            self.tasks[label] = fn
            return fn

        return register

    def of_kind(self, kind: str) -> list[Any]:
        """The declared resources of one kind (``"queue"``, ``"topic"``, ...), in declaration order."""
        return [r for (k, _), r in self.resources.items() if k == kind]

    def transaction(self) -> Transaction:
        """All-or-nothing writes across tables: ``with app.transaction() as tx: tx.put(...)``."""
        from .table import Transaction

        return Transaction()

    @property
    def usage(self) -> Counter:
        """Counts billable operations for ``strato cost`` (a no-op on AWS, where AWS bills)."""
        if self._usage is None:
            from .core.usage import OFF, Usage

            self._usage = Usage(self.config.data_dir) if self.config.provider == "local" else OFF
        return self._usage

    # -- running ------------------------------------------------------------------------------
    @property
    def http_dispatcher(self) -> HttpDispatcher:
        if self._http_dispatcher is None:
            if self._http is None:
                raise ConfigurationError(f"app {self.name!r} has no HTTP API (declare one with app.http())")
            from .dispatch.http import HttpDispatcher

            self._http_dispatcher = HttpDispatcher(self._http)
        return self._http_dispatcher

    def lambda_handler(self, event: dict[str, Any], context: Any = None) -> Any:
        """The one AWS Lambda entry point: ``handler = app.lambda_handler``."""
        from .entry import handle

        return handle(self, event, context)

    def ensure(self) -> None:
        """Create every declared table that does not exist yet (dev and tests)."""
        for table in self.of_kind("table"):
            table.ensure()

    def close(self) -> None:
        self.registry.close()

    def __repr__(self) -> str:
        return f"<App {self.name} provider={self.config.provider} resources={len(self.resources)}>"
