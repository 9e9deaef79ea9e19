"""``strato synth``, ``package``, ``deploy`` and ``destroy``: APP's template, its Lambda zip, and its
CloudFormation stack (``strato diff`` lives in cli_diff.py)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .cli_diff import deploy_options
from .core.errors import StratoError


@click.command()
@click.argument("app_spec", metavar="APP")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the template here (default stdout).")
@click.option("--stage", help="Stage name baked into names and the WebSocket stage (default STRATO_STAGE or dev).")
def synth(app_spec: str, output: str | None, stage: str | None) -> None:
    """Write APP's CloudFormation template (least-privilege IAM, passes cfn-lint)."""
    from .cli import _load

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


@click.command()
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


@click.command()
@deploy_options
@click.option("--yes", is_flag=True, help="Replace or remove tables, buckets, queues and user pools without asking.")
def deploy(app_spec: str, stack: str, region: str, stage: str | None, params: tuple[str, ...], yes: bool) -> None:
    """Package APP, upload it, create or update STACK through a change set (shown, as `strato diff` shows
    it; replacing or removing a resource that holds data asks first), and print the outputs."""
    from .cli import _load, _parameters

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


@click.command()
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
