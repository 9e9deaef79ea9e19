"""``strato cost APP``: the monthly AWS bill of APP estimated from the usage its local run recorded (and,
with ``--runs-per-month`` and ``--users``, scaled to a month and per 1,000 users)."""

from __future__ import annotations

import json
import os

import click


@click.command()
@click.argument("app_spec", metavar="APP")
@click.option("--data", type=click.Path(file_okay=False), help="Data directory of the run (default ./.strato).")
@click.option("--runs-per-month", default=1.0, show_default=True, help="How often the recorded run happens a month.")
@click.option("--users", type=int, help="Users in the recorded run: adds the cost per 1,000 users.")
@click.option("--prices", type=click.Path(dir_okay=False, exists=True), help='JSON {"service.unit": usd}.')
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--reset", is_flag=True, help="Forget the recorded usage (start a new measurement).")
def cost(
    app_spec: str,
    data: str | None,
    runs_per_month: float,
    users: int | None,
    prices: str | None,
    as_json: bool,
    reset: bool,
) -> None:
    """Estimate APP's monthly AWS bill from the usage its local run recorded."""
    from . import cost as pricing
    from .cli import _load
    from .core.usage import reset as forget

    os.environ.setdefault("STRATO_PROVIDER", "local")
    app = _load(app_spec, data)
    data_dir = app.config.data_dir
    if reset:
        forget(data_dir)
        click.echo(f"usage recorded under {data_dir} forgotten", err=True)
        return
    try:
        from .deploy.functions import provisioned_in
        from .deploy.synth import synth

        kept = provisioned_in(synth(app))
        lines = pricing.estimate(
            data_dir,
            runs_per_month,
            pricing.load_prices(prices),
            pricing.polled(app.of_kind("queue")),
            provisioned=kept,
            **pricing.storage_of(app),
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    result = pricing.summary(lines, users)
    if as_json:
        result["lines"] = [li.as_dict() for li in lines]
        click.echo(json.dumps(result, indent=2))
        return
    from rich.console import Console
    from rich.table import Table as RichTable

    table = RichTable(
        title=f"{app.name}: estimated AWS cost per month (us-east-1 list prices of "
        f"{pricing.PRICES_AS_OF}, no free tier, run x{runs_per_month:g})"
    )
    for column in ("service", "usage", "quantity", "USD per unit", "USD / month"):
        table.add_column(column, justify="right" if column in ("quantity", "USD per unit", "USD / month") else "left")
    for line in lines:
        table.add_row(
            line.service,
            line.description,
            f"{line.quantity:,.3f}",
            f"{line.price:.10f}".rstrip("0"),
            pricing.usd(line.monthly),
        )
    for service, amount in sorted(result["by_service"].items()):
        table.add_row(f"[bold]{service}[/]", "subtotal", "", "", f"[bold]{pricing.usd(amount)}[/]")
    table.add_row("[bold]total[/]", "", "", "", f"[bold]{pricing.usd(result['total_monthly_usd'])}[/]")
    if users:
        table.add_row("per 1,000 users", f"{users} users in the run", "", "", pricing.usd(result["per_1000_users_usd"]))
    Console().print(table)
