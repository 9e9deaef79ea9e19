"""``strato openapi APP``: print the OpenAPI 3.1 document of APP's HTTP API (what ``strato dev`` serves at
``/_strato/openapi.json``), for clients' code generators, API gateways' imports and reviews."""

from __future__ import annotations

import json

import click

from .core.errors import StratoError


@click.command()
@click.argument("app_spec", metavar="APP")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--version", "api_version", default="1.0.0", show_default=True, help="info.version of the document.")
def openapi(app_spec: str, output: str | None, api_version: str) -> None:
    """Print APP's OpenAPI 3.1 document (paths, parameters, models, auth, error responses)."""
    from .http.openapi import document
    from .loader import load_app

    try:
        app = load_app(app_spec)
    except StratoError as exc:
        raise click.ClickException(str(exc)) from exc
    if app._http is None:
        raise click.ClickException(f"{app_spec} declares no HTTP API (app.http()): there is nothing to describe")
    text = json.dumps(document(app._http, app.name, api_version), indent=2)
    if output:
        with open(output, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)
