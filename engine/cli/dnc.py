"""
``outdial dnc``: the do-not-call list: add, remove, check, import, export.
"""

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import click
from rich.console import Console
from rich.table import Table

from engine.campaigns.exceptions import InvalidPhoneError
from engine.campaigns.phones import normalise
from engine.cli.campaign import actor_option, resolve_actor, with_pool
from engine.clock import SystemClock
from engine.compliance import dnc as dnc_list
from engine.compliance.dncexport import export_audited
from engine.compliance.dncimport import (
    ImportResult,
    import_file,
    list_lists,
    remove_list,
)
from engine.settings import get_settings

SHOWN_REJECTED = 20

scope_option = click.option(
    "--scope",
    default="all",
    show_default=True,
    help="'all' kinds of call, or one kind (collections, marketing...).",
)


def _phone(raw: str) -> str:
    try:
        return normalise(raw, get_settings().default_region)
    except InvalidPhoneError as exc:
        raise click.BadParameter(f"{raw!r}: {exc.reason}", param_hint="PHONE") from None


def _expiry(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@click.group()
def dnc() -> None:
    """The do-not-call list (every change is audited)."""


@dnc.command()
@click.argument("phone")
@scope_option
@click.option(
    "--source",
    type=click.Choice(dnc_list.SOURCES),
    default="manual",
    show_default=True,
)
@click.option("--reason", default="", help="Why, in words.")
@click.option(
    "--expires",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    help="Stop suppressing after this time (UTC) [default: never].",
)
@actor_option
def add(
    phone: str,
    scope: str,
    source: str,
    reason: str,
    expires: datetime | None,
    actor: str | None,
) -> None:
    """Stop calls to PHONE (and mark its pending contacts suppressed)."""
    number = _phone(phone)

    async def go(pool: asyncpg.Pool) -> dnc_list.DncEntry:
        async with pool.acquire() as conn:
            return await dnc_list.add_entry(
                conn,
                number,
                scope=scope,
                source=source,
                reason=reason,
                actor=resolve_actor(actor),
                now=SystemClock().now(),
                expires_at=_expiry(expires),
            )

    entry = with_pool(go)
    click.echo(f"suppressed {entry.phone} for {entry.scope}: entry {entry.id}")


@dnc.command()
@click.argument("phone")
@scope_option
@click.option("--reason", required=True, help="Why the entry is removed (required).")
@actor_option
def remove(phone: str, scope: str, reason: str, actor: str | None) -> None:
    """Stop PHONE being suppressed for a scope (entries and lists are kept)."""
    number = _phone(phone)

    async def go(pool: asyncpg.Pool) -> list[dnc_list.DncEntry]:
        async with pool.acquire() as conn:
            return await dnc_list.remove_entry(
                conn, number, scope=scope, actor=resolve_actor(actor), reason=reason
            )

    for entry in with_pool(go):
        where = f"list {entry.list_id}" if entry.list_id else f"entry {entry.id}"
        click.echo(f"removed {entry.phone} ({entry.scope}) from {where}")


@dnc.command(name="remove-list")
@click.argument("list_id", type=int)
@click.option("--reason", required=True, help="Why the list is withdrawn (required).")
@actor_option
def remove_list_(list_id: int, reason: str, actor: str | None) -> None:
    """Stop a whole imported list suppressing (it is kept, marked removed)."""

    async def go(pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn:
            await remove_list(conn, list_id, actor=resolve_actor(actor), reason=reason)

    with_pool(go)
    click.echo(f"list {list_id} removed")


@dnc.command(name="lists")
def lists_() -> None:
    """Show the imported lists."""
    for r in with_pool(list_lists):
        state = "live" if r["removed_at"] is None else f"removed: {r['removal_reason']}"
        expires = (
            "" if r["expires_at"] is None else f" until {r['expires_at']:%Y-%m-%d}"
        )
        click.echo(
            f"{r['id']:>5}  {r['scope']:<12} {r['source']:<16} {r['numbers']:>10,}"
            f"  {r['added_at']:%Y-%m-%d} {r['file_name'] or ''}{expires}  {state}"
        )


@dnc.command()
@click.argument("phone")
@click.option("--kind", default="all", help="Kind of call to check for.")
def check(phone: str, kind: str) -> None:
    """Say whether PHONE is suppressed now, and show its history."""
    number = _phone(phone)
    now = SystemClock().now()

    async def go(
        pool: asyncpg.Pool,
    ) -> tuple[dnc_list.DncEntry | None, list[dnc_list.DncEntry]]:
        live = await dnc_list.find_active(pool, number, kind, now)
        return live, await dnc_list.history(pool, number)

    live, entries = with_pool(go)
    if live is None:
        click.echo(f"{number} is not suppressed for {kind}")
    else:
        click.echo(f"{number} is SUPPRESSED for {kind}: {live.describe()}")
    if entries:
        _print_history(entries)


def _print_history(entries: list[dnc_list.DncEntry]) -> None:
    table = Table(title="entries")
    for column in ("entry/list", "scope", "source", "reason", "added", "expires"):
        table.add_column(column)
    table.add_column("removed")
    for e in entries:
        removed = ""
        if e.removed_at is not None:
            removed = f"{e.removed_at:%Y-%m-%d} by {e.removed_by}: {e.removal_reason}"
        table.add_row(
            f"list {e.list_id}" if e.list_id else str(e.id),
            e.scope,
            e.source,
            e.reason,
            f"{e.added_at:%Y-%m-%d %H:%M} by {e.added_by}",
            "" if e.expires_at is None else f"{e.expires_at:%Y-%m-%d %H:%M}",
            removed,
        )
    Console().print(table)


@dnc.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@scope_option
@click.option(
    "--source",
    type=click.Choice(dnc_list.SOURCES),
    default="regulator",
    show_default=True,
)
@click.option("--reason", default="", help="Why, in words (e.g. the list's name).")
@click.option(
    "--expires",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
    help="Entries stop suppressing after this time (UTC) [default: never].",
)
@click.option("--region", help="Region for numbers without +country code.")
@click.option("--strict", is_flag=True, help="Load nothing if any line is bad.")
@click.option(
    "--replaces", type=int, help="Id of a list this one supersedes (it is removed)."
)
@actor_option
def import_(
    file: Path,
    scope: str,
    source: str,
    reason: str,
    expires: datetime | None,
    region: str | None,
    strict: bool,
    replaces: int | None,
    actor: str | None,
) -> None:
    """Load FILE: one number per line, or a CSV with the number first."""

    async def go(pool: asyncpg.Pool) -> ImportResult:
        async with pool.acquire() as conn:
            return await import_file(
                conn,
                file,
                scope=scope,
                source=source,
                reason=reason or file.name,
                actor=resolve_actor(actor),
                now=SystemClock().now(),
                expires_at=_expiry(expires),
                region=region or get_settings().default_region,
                strict=strict,
                replaces=replaces,
            )

    result = with_pool(go)
    click.echo(
        f"{result.lines} lines: list {result.list_id} holds {result.numbers} numbers,"
        f" {result.rejected_count} rejected,"
        f" {result.suppressed_contacts} pending contacts suppressed"
    )
    for bad in result.rejected[:SHOWN_REJECTED]:
        click.echo(f"  line {bad.line}: {bad.reason}: {bad.raw!r}")
    if result.rejected_count > SHOWN_REJECTED:
        click.echo(f"  ... and {result.rejected_count - SHOWN_REJECTED} more")


@dnc.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--all", "everything", is_flag=True, help="Include removed and expired.")
@click.option(
    "--reason",
    required=True,
    help="Why the list leaves the engine, e.g. the regulator's request (audited).",
)
@actor_option
def export(file: Path, everything: bool, reason: str, actor: str | None) -> None:
    """
    Write the live entries (or all of them) to FILE as CSV, numbers unmasked.

    An actor with an account must be a director or an admin; every export is
    audited with the rows written and FILE.
    """
    target = file.resolve()
    if not reason.strip():
        raise click.BadParameter("must not be empty", param_hint="--reason")

    async def go(pool: asyncpg.Pool) -> int:
        async with pool.acquire() as conn:
            return await export_audited(
                conn,
                target,
                actor=resolve_actor(actor),
                reason=reason.strip(),
                now=SystemClock().now(),
                everything=everything,
            )

    click.echo(f"wrote {with_pool(go)} entries to {file}")


COMMANDS = [dnc]
