"""The ``strato`` command: dev and routes here; the other commands live in cli_*.py modules, one concern
each, and are registered at the bottom."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import click

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


def _parameters(values: tuple[str, ...]) -> dict[str, str]:
    """``--param NAME=VALUE`` pairs (strato deploy and strato diff)."""
    out = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r}: use NAME=VALUE", param_hint="--param")
        out[name] = rest
    return out


@main.command()
@click.argument("app_spec", metavar="APP")
def routes(app_spec: str) -> None:
    """List APP's HTTP routes as API Gateway route keys."""
    app = _load(app_spec)
    for route in app._http.routes if app._http else []:
        click.echo(f"{route.key}\t{getattr(route.handler, '__qualname__', '?')}")


from .cli_backup import backup, restore  # noqa: E402
from .cli_cost import cost  # noqa: E402 - commands in their own modules, registered here
from .cli_deploy import deploy, destroy, package, synth  # noqa: E402
from .cli_diff import diff  # noqa: E402
from .cli_local import invoke, outbox, worker  # noqa: E402
from .cli_openapi import openapi  # noqa: E402

for _command in (backup, cost, deploy, destroy, diff, invoke, openapi, outbox, package, restore, synth, worker):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
