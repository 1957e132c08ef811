"""
``outdial recordings``: check the archive, and apply retention per kind of call.
"""

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import click
from rich.console import Console
from rich.table import Table

from engine.cli.common import database, run, setup
from engine.reports import retention as retention_rules
from engine.reports.access import viewer
from engine.reports.exceptions import AccessDeniedError
from engine.reports.verify import VerifyResult, verify_archive
from engine.settings import Settings

_BASE_HELP = "Directory relative archive paths start from (default: current)."


@click.group()
def recordings() -> None:
    """The recordings archive: verify it, expire old recordings."""


@recordings.command()
@click.option(
    "--base", type=click.Path(file_okay=False, path_type=Path), help=_BASE_HELP
)
@click.option("--actor", envvar="OUTDIAL_ACTOR", default="system:verify")
def verify(base: Path | None, actor: str) -> None:
    """Re-hash every archived recording; report missing or altered files."""
    settings = setup()
    result = run(_verify(settings, base or Path.cwd(), actor))
    _print_verify(result)
    if not result.ok:
        raise SystemExit(1)


async def _verify(settings: Settings, base: Path, actor: str) -> VerifyResult:
    root = settings.recordings_dir
    root = root if root.is_absolute() else base / root
    async with database(settings) as pool, pool.acquire() as conn:
        return await verify_archive(conn, base, root=root, actor=actor)


def _print_verify(result: VerifyResult) -> None:
    console = Console()
    for problem in result.problems:
        console.print(
            f"[red]{problem.kind}[/red] #{problem.recording_id:06d} {problem.path}"
            f" ({problem.detail})"
        )
    for path in result.unexpected:
        console.print(f"[yellow]unexpected[/yellow] {path}")
    console.print(
        f"checked {result.checked}: {result.count('missing')} missing, "
        f"{result.count('altered')} altered, {len(result.unexpected)} unexpected"
    )


@recordings.group()
def retention() -> None:
    """How long recordings are kept, per kind of call."""


@retention.command("show")
def retention_show() -> None:
    """List the retention policies."""
    settings = setup()

    async def go() -> list[asyncpg.Record]:
        async with database(settings) as pool:
            return await retention_rules.policies(pool)

    table = Table("kind", "days", "set by", "set at", header_style="bold cyan")
    for row in run(go()):
        table.add_row(
            row["kind"],
            str(row["recording_days"]),
            row["updated_by"],
            f"{row['updated_at']:%Y-%m-%d %H:%M}",
        )
    Console().print(table)


@retention.command("set")
@click.argument("kind")
@click.argument("days", type=click.IntRange(min=1))
@click.option("--actor", envvar="OUTDIAL_ACTOR", required=True)
def retention_set(kind: str, days: int, actor: str) -> None:
    """Keep recordings of KIND (e.g. collections) for DAYS days (admins only)."""
    settings = setup()

    async def go() -> None:
        async with database(settings) as pool, pool.acquire() as conn:
            who = await viewer(conn, actor)
            if who.role != "admin":
                raise AccessDeniedError(actor, "change retention")
            async with conn.transaction():
                await retention_rules.set_policy(conn, kind, days, actor)

    run(go())
    click.echo(f"recordings of kind {kind} kept {days} days")


@retention.command("apply")
@click.option("--dry-run", is_flag=True, help="List what would be deleted.")
@click.option(
    "--base", type=click.Path(file_okay=False, path_type=Path), help=_BASE_HELP
)
@click.option("--actor", envvar="OUTDIAL_ACTOR", default="system:retention")
def retention_apply(dry_run: bool, base: Path | None, actor: str) -> None:
    """Delete expired recordings; each deletion is audited."""
    settings = setup()

    async def go() -> list[retention_rules.Deletion]:
        async with database(settings) as pool, pool.acquire() as conn:
            return await retention_rules.apply_retention(
                conn,
                datetime.now(UTC),
                base or Path.cwd(),
                actor=actor,
                dry_run=dry_run,
            )

    deletions = run(go())
    verb = "would delete" if dry_run else "deleted"
    for d in deletions:
        click.echo(
            f"{verb} #{d.recording_id:06d} {d.kind} {d.started_at:%Y-%m-%d} {d.path}"
        )
    click.echo(f"{verb} {len(deletions)} recordings")


COMMANDS = [recordings]
