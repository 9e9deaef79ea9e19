"""``strato diff APP --stack NAME``: what a deploy would change, from a CloudFormation change set that is
created, described and deleted (never executed), shown as ``cdk diff`` shows it; and the review
``strato deploy`` runs before executing its own change set."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console

    from .deploy.changeset import Diff

SIGNS = {"Add": ("[green]+[/]", "green"), "Modify": ("[yellow]~[/]", "yellow"), "Remove": ("[red]-[/]", "red")}


def show(diff: Diff, console: Console) -> None:
    """Resources by action (replacements in red, with the properties forcing them), then IAM changes."""
    from rich.markup import escape

    def say(line: str) -> None:
        console.print(line, highlight=False)

    if diff.empty:
        say(f"stack {diff.stack}: [green]no changes[/]")
        return
    counts = diff.counts()
    title = "new stack" if diff.new_stack else "stack"
    say(
        f"[bold]{title} {escape(diff.stack)}[/]: {counts['Add']} to add, {counts['Modify']} to modify, "
        f"{counts['Remove']} to remove"
    )
    say("[bold]Resources[/]")
    for change in diff.changes:
        sign, colour = SIGNS.get(change.action, ("?", "white"))
        line = f" {sign} [{colour}]{escape(change.resource_type)}[/] {escape(change.logical_id)}"
        if change.replaces:
            certain = "may be replaced" if change.replacement == "Conditional" else "replaced"
            line += f" [bold red]({certain})[/]"
        if change.action == "Remove" and change.retained:
            line += " [dim](retained: DeletionPolicy Retain)[/]"
        if change.dangerous:
            line += " [bold red]holds data[/]"
        say(line)
        for name, recreation in change.properties:
            mark = " [red]requires replacement[/]" if recreation == "Always" else ""
            mark = mark or (" [red]may require replacement[/]" if recreation == "Conditionally" else "")
            say(f"     └ {escape(name)}{mark}")
    if diff.iam_added or diff.iam_removed:
        say("[bold]IAM statement changes[/]")
        for line in diff.iam_added:
            say(f" [green]+ {escape(line)}[/]")
        for line in diff.iam_removed:
            say(f" [red]- {escape(line)}[/]")


def reviewer(yes: bool, console: Console) -> Callable[[Diff], bool]:
    """The ``review`` a deploy calls with its change set's diff: show it, and ask before replacing or
    removing a stateful resource (tables, buckets, queues, user pools) unless ``yes``; refuse when no one
    can be asked."""

    def review(diff: Diff) -> bool:
        show(diff, console)
        dangerous = diff.dangerous
        if not dangerous or yes:
            return True
        names = ", ".join(f"{c.logical_id} ({'removed' if c.action == 'Remove' else 'replaced'})" for c in dangerous)
        if not sys.stdin.isatty():
            console.print(
                f"[bold red]refusing:[/] this deploy replaces or removes resources holding data: {names}. "
                "Run it in a terminal to confirm, or pass --yes."
            )
            return False
        return click.confirm(f"this deploy replaces or removes resources holding data: {names}. Go on?")

    return review


def deploy_options(command: Callable[..., None]) -> Callable[..., None]:
    """APP --stack --region --stage --param: what `strato deploy` and `strato diff` both take."""
    for option in reversed(
        [
            click.argument("app_spec", metavar="APP"),
            click.option("--stack", required=True, help="CloudFormation stack name."),
            click.option("--region", envvar="AWS_REGION", default="us-east-1", show_default=True),
            click.option("--stage", help="Stage name (default STRATO_STAGE or dev)."),
            click.option("--param", "params", multiple=True, help="Template parameter NAME=VALUE (repeatable)."),
        ]
    ):
        command = option(command)
    return command


@click.command()
@deploy_options
def diff(app_spec: str, stack: str, region: str, stage: str | None, params: tuple[str, ...]) -> None:
    """Show what deploying APP to STACK would change (a change set, described then deleted)."""
    from rich.console import Console

    from .cli import _load, _parameters
    from .core.errors import StratoError
    from .deploy.deploy import Deployer

    if stage:
        os.environ["STRATO_STAGE"] = stage
    os.environ["STRATO_PROVIDER"] = "aws"
    app = _load(app_spec)
    progress = Console(stderr=True)
    try:
        result = Deployer(region, say=lambda line: progress.print(line, highlight=False)).diff(
            app, app_spec, stack, _parameters(params)
        )
    except StratoError as exc:
        raise click.ClickException(str(exc)) from exc
    show(result, Console(highlight=False))
