"""
``outdial effects``: import business results and see what the calls achieved.
"""

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from engine.cli.common import database, run, setup
from engine.reports.access import viewer
from engine.reports.effects import EffectImport, effect_summary, import_effects
from engine.reports.exceptions import AccessDeniedError
from engine.reports.stats import load_campaign


@click.group()
def effects() -> None:
    """Business results (payments, sales) matched to calls."""


@effects.command("import")
@click.argument("campaign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--window-days", type=click.IntRange(1, 365), default=30)
@click.option("--actor", envvar="OUTDIAL_ACTOR", required=True)
def import_command(campaign: str, file: Path, window_days: int, actor: str) -> None:
    """Load FILE (phone or contact_id, result, occurred_at, amount) into CAMPAIGN."""
    settings = setup()

    async def go() -> EffectImport:
        async with database(settings) as pool, pool.acquire() as conn:
            who = await viewer(conn, actor)
            if who.role not in ("director", "admin"):
                raise AccessDeniedError(actor, "import business results")
            return await import_effects(
                conn, campaign, file, actor=actor, window_days=window_days
            )

    done = run(go())
    for line, reason in done.bad[:50]:
        click.echo(f"line {line}: {reason}")
    click.echo(
        f"import #{done.import_id}: loaded {done.loaded}, rejected {len(done.bad)}, "
        f"credited to calls {done.matched_calls}"
    )


@effects.command("summary")
@click.argument("campaign")
@click.option("--actor", envvar="OUTDIAL_ACTOR", required=True)
def summary_command(campaign: str, actor: str) -> None:
    """Results per kind and operator, with amounts and calls credited."""
    settings = setup()

    async def go() -> list[dict]:
        async with database(settings) as pool, pool.acquire() as conn:
            who = await viewer(conn, actor)
            camp = await load_campaign(conn, campaign)
            return await effect_summary(conn, camp["id"], who.scope)

    table = Table(
        "result",
        "operator",
        "results",
        "credited to calls",
        "amount",
        header_style="bold cyan",
    )
    for row in run(go()):
        table.add_row(
            row["result"],
            row["operator"] or "—",
            str(row["results"]),
            str(row["matched"]),
            "" if row["amount"] is None else f"{row['amount']:,.2f}",
        )
    Console().print(table)


COMMANDS = [effects]
