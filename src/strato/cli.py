"""The ``strato`` command: dev, invoke, routes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import click

from .cli_diff import deploy_options
from .core.config import DATA_MARKER
from .core.errors import StratoError

DEFAULT_PORT = 8000


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket ``strato dev`` serves on, bound first so a busy port is a one-line error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror}): is another strato dev running? "
            "Choose another port with --port"
        ) from None
    # not listening yet: uvicorn listens once the app is built, so nothing connects to a half-started server
    listener.set_inheritable(True)
    return listener


def _reset(data_dir: Path) -> None:
    """Delete a data directory strato made (it holds the marker, or is a ``.strato`` folder), never another."""
    if not (data_dir / DATA_MARKER).exists() and data_dir.resolve().name != ".strato":
        raise click.ClickException(
            f"refusing to delete {data_dir}: it is not a strato data directory (no {DATA_MARKER} in it). "
            "Point --data at the folder strato dev created, or delete it yourself."
        )
    shutil.rmtree(data_dir)


def _load(app_spec: str, data: str | None = None):
    from .loader import load_app

    if data:
        os.environ["STRATO_DATA_DIR"] = data
    try:
        return load_app(app_spec)
    except StratoError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="strato")
def main() -> None:
    """strato: write an AWS serverless backend once, run it here, deploy it to AWS."""


@main.command()
@click.argument("app_spec", metavar="APP")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", "-p", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
@click.option("--data", type=click.Path(file_okay=False), help="Data directory (default ./.strato).")
@click.option("--reset", is_flag=True, help="Delete the local data directory before starting.")
@click.option("--sweep-every", default=30.0, show_default=True, help="Seconds between TTL sweeps of local tables.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.option("--no-worker", is_flag=True, help="Serve HTTP only; run background work with `strato worker`.")
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    help="Also answer requests for this Host name (repeatable; also STRATO_ALLOWED_HOSTS). Default: loopback only.",
)
@click.option("--header-timeout", default=10.0, show_default=True, help="Seconds a client has to send a request head.")
@click.option("--body-timeout", default=30.0, show_default=True, help="Seconds a request body may stall.")
@click.option("--reload", is_flag=True, help="Swap in new code on every save; WebSocket connections stay open.")
def dev(
    app_spec: str,
    host: str,
    port: int,
    data: str | None,
    reset: bool,
    sweep_every: float,
    log_level: str,
    no_worker: bool,
    allow_hosts: tuple[str, ...],
    header_timeout: float,
    body_timeout: float,
    reload: bool,
) -> None:
    """Serve APP locally (module:attr or file.py): HTTP routes plus /_strato/ endpoints."""
    listener = _listen(host, port)  # a port in use fails here: before any output, data or worker
    data_dir = Path(data or os.environ.get("STRATO_DATA_DIR") or ".strato")
    if reset and data_dir.exists():
        _reset(data_dir)
    os.environ.setdefault("STRATO_PROVIDER", "local")
    os.environ["STRATO_DEV_URL"] = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / DATA_MARKER).write_text("local data of strato dev / strato worker: --reset may delete this folder\n")
    (data_dir / "dev-url").write_text(os.environ["STRATO_DEV_URL"])  # read by `strato worker` for SubscribeURLs
    from .runtime.backup_guard import hold_shared

    hold_shared(data_dir)  # `strato restore` refuses while this process runs
    app = _load(app_spec, str(data_dir))
    import uvicorn
    from rich.console import Console
    from rich.table import Table as RichTable

    from .local import build_asgi
    from .local.invocations import log_invocations
    from .local.logs import log_config

    console = Console(stderr=True)
    routes = RichTable(title=f"strato dev · {app.name} · data in {data_dir}/", show_edge=False)
    routes.add_column("route")
    routes.add_column("handler")
    for route in app._http.routes if app._http else []:
        routes.add_row(route.key, getattr(route.handler, "__qualname__", "?"))
    console.print(routes)
    console.print(f"[bold green]listening on http://{host}:{port}[/]  (health: /_strato/health)")
    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # the console answers loopback Hosts
    console.print(f"console: http://{local}:{port}/_strato/console")
    listen = [] if host in ("0.0.0.0", "::") else [host]  # a name or address the user chose to listen on
    asgi = build_asgi(
        app,
        sweep_every=sweep_every,
        background=not no_worker,
        allowed_hosts=[*allow_hosts, *listen],
        reload=app_spec if reload else None,
    )
    if reload:
        from .local.reload import app_directory

        console.print(f"reloading on saves to *.py under {app_directory(app_spec)}/ (WebSockets stay open)")
    if log_level in ("info", "debug"):
        log_invocations()  # one line per background invocation; the HTTP gateway logs one per request
    console.print(f"private /_strato/ endpoints need the header x-strato-secret: see {data_dir}/internal-secret")
    from .local.http_protocol import HEAD_BUFFER, bounded
    from .local.ws_limits import AwsLimitsProtocol
    from .websocket import MESSAGE_LIMIT

    for ws in app.of_kind("websocket"):
        console.print(f"websocket [bold]{ws.name}[/]: ws://{host}:{port}/ws/{ws.name}")
    # API Gateway negotiates no permessage-deflate, so neither does the local gateway
    uvicorn.run(
        asgi,
        fd=listener.fileno(),
        log_level=log_level,
        log_config=log_config(log_level),  # credentials in URLs and headers never reach the log
        access_log=False,  # the gateway logs each request with its time
        lifespan="on",
        http=bounded(header_timeout, body_timeout),  # bounded heads and slow clients (h11, not httptools)
        h11_max_incomplete_event_size=HEAD_BUFFER,
        proxy_headers=False,  # the peer is who it is: no X-Forwarded-For from a page on this machine
        ws=AwsLimitsProtocol,
        ws_max_size=MESSAGE_LIMIT,
        ws_per_message_deflate=False,
    )


@main.command()
@click.argument("app_spec", metavar="APP")
@click.option("--data", type=click.Path(file_okay=False), help="Data directory (default ./.strato).")
@click.option("--grace", default=30.0, show_default=True, help="Seconds to let batches in hand finish on stop.")
@click.option("--poll-wait", default=1.0, show_default=True, help="Long-poll seconds per receive.")
def worker(app_spec: str, data: str | None, grace: float, poll_wait: float) -> None:
    """Run only APP's background work (queue consumers, deliveries, schedules) against the same data."""
    import logging
    import signal

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


@main.command()
@click.argument("app_spec", metavar="APP")
@click.argument("event_file", metavar="EVENT.json", type=click.File("r"))
@click.option("--timeout", default=29.0, show_default=True, help="Seconds before the invocation is abandoned.")
@click.option("--data", type=click.Path(file_okay=False), help="Data directory (default ./.strato).")
def invoke(app_spec: str, event_file, timeout: float, data: str | None) -> None:
    """Run APP's Lambda entry point on a saved AWS event (EVENT.json, or - for stdin) and print the result."""
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


@main.command()
@click.argument("app_spec", metavar="APP")
@click.option("--data", type=click.Path(file_okay=False), help="Data directory (default ./.strato).")
@click.option("--protocol", type=click.Choice(["email", "sms"]), help="Only email or only SMS.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
def outbox(app_spec: str, data: str | None, protocol: str | None, as_json: bool) -> None:
    """Show the email and SMS APP's local topics sent (confirmations included)."""
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


@main.command()
@click.argument("app_spec", metavar="APP")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the template here (default stdout).")
@click.option("--stage", help="Stage name baked into names and the WebSocket stage (default STRATO_STAGE or dev).")
def synth(app_spec: str, output: str | None, stage: str | None) -> None:
    """Write APP's CloudFormation template (least-privilege IAM, passes cfn-lint)."""
    if stage:
        os.environ["STRATO_STAGE"] = stage
    os.environ["STRATO_PROVIDER"] = "aws"
    app = _load(app_spec)
    from .deploy.synth import render
    from .deploy.synth import synth as build

    try:
        text = render(build(app))
    except StratoError as exc:
        raise click.ClickException(str(exc)) from exc
    if output:
        Path(output).write_text(text)
        click.echo(f"wrote {output} ({len(text):,} bytes)", err=True)
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("app_spec", metavar="APP")
@click.option("-o", "--output", default="strato-package.zip", show_default=True, type=click.Path(dir_okay=False))
def package(app_spec: str, output: str) -> None:
    """Build APP's Lambda zip (app code + strato + requirements.txt for Lambda), byte-reproducible."""
    from .deploy.package import build

    try:
        path, digest = build(app_spec, Path(output))
    except StratoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{path} sha256={digest} ({path.stat().st_size:,} bytes)")


def _parameters(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r}: use NAME=VALUE", param_hint="--param")
        out[name] = rest
    return out


@main.command()
@deploy_options
@click.option("--yes", is_flag=True, help="Replace or remove tables, buckets, queues and user pools without asking.")
def deploy(app_spec: str, stack: str, region: str, stage: str | None, params: tuple[str, ...], yes: bool) -> None:
    """Package APP, upload it, create or update STACK through a change set (shown, as `strato diff` shows
    it; replacing or removing a resource that holds data asks first), and print the outputs."""
    if stage:
        os.environ["STRATO_STAGE"] = stage
    os.environ["STRATO_PROVIDER"] = "aws"
    app = _load(app_spec)
    from rich.console import Console
    from rich.table import Table as RichTable

    from .cli_diff import reviewer
    from .deploy.deploy import Deployer

    console = Console(stderr=True)
    try:
        outputs = Deployer(region, say=lambda line: console.print(line, highlight=False)).deploy(
            app, app_spec, stack, _parameters(params), review=reviewer(yes, console)
        )
    except StratoError as exc:
        raise click.ClickException(str(exc)) from exc
    table = RichTable(title=f"stack {stack} outputs")
    table.add_column("output")
    table.add_column("value")
    for key, value in sorted(outputs.items()):
        table.add_row(key, value)
    Console().print(table)


@main.command()
@click.option("--stack", required=True, help="CloudFormation stack name.")
@click.option("--region", envvar="AWS_REGION", default="us-east-1", show_default=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def destroy(stack: str, region: str, yes: bool) -> None:
    """Delete STACK (tables and buckets are retained, as their DeletionPolicy says)."""
    if not yes and not click.confirm(f"delete stack {stack} in {region}?"):
        raise click.Abort()
    from .deploy.deploy import Deployer

    try:
        Deployer(region, say=lambda line: click.echo(line, err=True)).destroy(stack)
    except StratoError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("app_spec", metavar="APP")
def routes(app_spec: str) -> None:
    """List APP's HTTP routes as API Gateway route keys."""
    app = _load(app_spec)
    for route in app._http.routes if app._http else []:
        click.echo(f"{route.key}\t{getattr(route.handler, '__qualname__', '?')}")


from .cli_backup import backup, restore  # noqa: E402
from .cli_cost import cost  # noqa: E402 - commands in their own modules, registered here
from .cli_diff import diff  # noqa: E402 - imported above for deploy_options; registered here
from .cli_openapi import openapi  # noqa: E402

for _command in (backup, cost, diff, openapi, restore):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
