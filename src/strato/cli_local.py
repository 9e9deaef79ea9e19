"""``strato worker``, ``strato invoke`` and ``strato outbox``: APP run here beside ``strato dev`` (its
background work alone, one saved event through its Lambda entry point, the mail and SMS it sent)."""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

import click


@click.command()
@click.argument("app_spec", metavar="APP")
@click.option("--data", type=click.Path(file_okay=False), help="Data directory (default ./.strato).")
@click.option("--grace", default=30.0, show_default=True, help="Seconds to let batches in hand finish on stop.")
@click.option("--poll-wait", default=1.0, show_default=True, help="Long-poll seconds per receive.")
def worker(app_spec: str, data: str | None, grace: float, poll_wait: float) -> None:
    """Run only APP's background work (queue consumers, deliveries, schedules) against the same data."""
    import logging
    import signal

    from .cli import _load
    from .local.logs import RedactFilter
    from .trace.logs import TraceFilter, suffixed

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:  # credentials in a failing handler's log, as in strato dev's
        handler.addFilter(RedactFilter())
        handler.addFilter(TraceFilter())  # a line logged inside a trace names it (STRATO_LOG_FORMAT=json)
        handler.setFormatter(suffixed(fmt="%(asctime)s %(name)s %(levelname)s %(message)s"))
    os.environ.setdefault("STRATO_PROVIDER", "local")
    app = _load(app_spec, data)
    from .local.worker import Worker
    from .runtime.backup_guard import hold_shared
    from .trace.setup import LocalTracing, wanted

    hold_shared(app.config.data_dir)  # `strato restore` refuses while this process runs

    tracing = LocalTracing(app.config.data_dir).start() if wanted() else None  # spans into traces.db
    running = Worker(app, poll_wait=poll_wait).start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"strato worker · {app.name} · {len(running.threads)} loops · Ctrl-C to stop", err=True)
    stop.wait()
    click.echo("stopping: finishing batches in hand ...", err=True)
    clean = running.stop(grace)
    if tracing is not None:
        tracing.stop()
    click.echo(
        f"stopped ({running.processed} processed, {running.failed} failed"
        f"{'' if clean else ', some work left in flight: it returns after its visibility timeout'})",
        err=True,
    )


@click.command()
@click.argument("app_spec", metavar="APP")
@click.argument("event_file", metavar="EVENT.json", type=click.File("r"))
@click.option("--timeout", default=29.0, show_default=True, help="Seconds before the invocation is abandoned.")
@click.option("--data", type=click.Path(file_okay=False), help="Data directory (default ./.strato).")
def invoke(app_spec: str, event_file, timeout: float, data: str | None) -> None:
    """Run APP's Lambda entry point on a saved AWS event (EVENT.json, or - for stdin) and print the result."""
    from .cli import _load

    try:
        event = json.load(event_file)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{event_file.name} is not valid JSON: {exc}") from exc
    app = _load(app_spec, data)
    from .events import LocalContext

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = app.lambda_handler(event, LocalContext(f"{app.name}-invoke", timeout))
        except Exception as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        click.echo(
            json.dumps({"errorType": "TimeoutError", "errorMessage": f"Task timed out after {timeout:.2f} seconds"}),
            err=False,
        )
        sys.exit(1)
    if "error" in outcome:
        error = outcome["error"]
        click.echo(json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}))
        sys.exit(1)
    from .http.response import dumps

    click.echo(dumps(outcome["result"]))


@click.command()
@click.argument("app_spec", metavar="APP")
@click.option("--data", type=click.Path(file_okay=False), help="Data directory (default ./.strato).")
@click.option("--protocol", type=click.Choice(["email", "sms"]), help="Only email or only SMS.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
def outbox(app_spec: str, data: str | None, protocol: str | None, as_json: bool) -> None:
    """Show the email and SMS APP's local topics sent (confirmations included)."""
    from .cli import _load

    os.environ.setdefault("STRATO_PROVIDER", "local")
    app = _load(app_spec, data)
    items = [
        {"topic": t.name, **m} for t in app.of_kind("topic") if "outbox" in t.capabilities for m in t.outbox(protocol)
    ]
    if protocol in (None, "email"):  # user pools' codes and temporary passwords, as Cognito would mail them
        items += [
            {
                "topic": f"user_pool:{pool.name}",
                "protocol": "email" if "@" in m["destination"] else "sms",
                "endpoint": m["destination"],
                "kind": "user-pool",
                "subject": m["subject"],
                "message": m["message"],
                "created_at": m["at"],
            }
            for pool in app.of_kind("user_pool")
            if "outbox" in pool.capabilities
            for m in pool.outbox()
        ]
    items.sort(key=lambda m: m["created_at"])
    if as_json:
        for item in items:
            click.echo(json.dumps(item))
        return
    from rich.console import Console
    from rich.table import Table as RichTable

    table = RichTable(title=f"outbox · {app.name} · {len(items)} messages")
    for column in ("topic", "protocol", "to", "kind", "subject"):
        table.add_column(column)
    table.add_column("message", overflow="fold")  # links whole: a confirmation URL cut short is useless
    for m in items:
        table.add_row(m["topic"], m["protocol"], m["endpoint"], m["kind"], m["subject"] or "", m["message"])
    Console().print(table)
