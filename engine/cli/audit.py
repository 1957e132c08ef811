"""
``outdial audit``: who did what, from the audit log.
"""

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import click
from rich.console import Console
from rich.table import Table

from engine.cli.common import database, run, setup
from engine.reports.auditlog import AuditQuery, query_audit


def _since(value: str | None) -> datetime | None:
    """An ISO date/time, or a span back from now: 30m, 12h, 7d."""
    if value is None:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"not a time or span (30m, 12h, 7d): {value}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@click.command()
@click.option("--actor", help="Only what this account did.")
@click.option("--action", help="Only this action, e.g. report_exported.")
@click.option("--since", help="ISO time, or a span back from now: 30m, 12h, 7d.")
@click.option("--object", "obj", help="TYPE or TYPE:ID, e.g. recording:42.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit(
    actor: str | None,
    action: str | None,
    since: str | None,
    obj: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Query the audit log, newest first."""
    settings = setup()
    object_type, _, object_id = (obj or "").partition(":")
    query = AuditQuery(
        actor, action, _since(since), object_type or None, object_id or None, limit
    )

    async def go() -> list[asyncpg.Record]:
        async with database(settings) as pool:
            return await query_audit(pool, query)

    rows = run(go())
    if as_json:
        _print_json(rows)
    else:
        _print_table(rows)


def _print_json(rows: list[asyncpg.Record]) -> None:
    """One JSON object per line, for scripts."""
    for row in rows:
        click.echo(
            json.dumps({**dict(row), "at": row["at"].isoformat()}, ensure_ascii=False)
        )


def _print_table(rows: list[asyncpg.Record]) -> None:
    """A table for people, with the details as sorted JSON."""
    table = Table(
        "at (UTC)", "actor", "action", "object", "details", header_style="bold cyan"
    )
    for row in rows:
        target = row["object_type"] or ""
        if row["object_id"]:
            target += f":{row['object_id']}"
        details = json.dumps(row["details"], ensure_ascii=False, sort_keys=True)
        table.add_row(
            f"{row['at']:%Y-%m-%d %H:%M:%S}",
            row["actor"],
            row["action"],
            target,
            details,
        )
    Console().print(table)


COMMANDS = [audit]
