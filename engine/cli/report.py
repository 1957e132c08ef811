"""
``outdial report``: campaign statistics as tables, or as CSV, XLSX or HTML files.
"""

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console

from engine.cli.common import database, run, secret_from_env, setup
from engine.reports.access import audit_read, viewer
from engine.reports.calls import call_rows, mask_calls
from engine.reports.export import ExportFormat, ExportRequest, build_export, save_export
from engine.reports.stats import Grouping, campaign_report
from engine.reports.tables import calls_table, stats_tables
from engine.settings import Settings

_GROUPINGS = [g.value for g in Grouping]
_FORMATS = ["table", *(f.value for f in ExportFormat)]


def _password(encrypt: bool, password_env: str | None) -> str | None:
    if not encrypt:
        return None
    if not password_env:
        raise click.UsageError("--encrypt needs --password-env VAR")

    return secret_from_env(password_env)


@click.command()
@click.argument("campaign")
@click.option("--by", "grouping", type=click.Choice(_GROUPINGS), default="campaign")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="table")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--calls", "include_calls", is_flag=True, help="Include the call list.")
@click.option("--unmasked", is_flag=True, help="Directors only, with --reason.")
@click.option("--reason", help="Why unmasked customer data is needed (audited).")
@click.option("--encrypt", is_flag=True, help="Write an AES-256 zip file.")
@click.option("--password-env", help="Variable holding the zip password.")
@click.option("--actor", envvar="OUTDIAL_ACTOR", required=True, help="Your account.")
def report(
    campaign: str,
    grouping: str,
    fmt: str,
    out: Path | None,
    include_calls: bool,
    unmasked: bool,
    reason: str | None,
    encrypt: bool,
    password_env: str | None,
    actor: str,
) -> None:
    """Show or export the statistics of CAMPAIGN (name or number)."""
    settings = setup()
    password = _password(encrypt, password_env)
    if fmt == "table":
        if unmasked or encrypt or out:
            raise click.UsageError("--unmasked, --encrypt and --out need --format")
        run(_print(settings, campaign, Grouping(grouping), include_calls, actor))
        return
    if out is None:
        raise click.UsageError(f"--format {fmt} needs --out FILE")
    request = ExportRequest(
        campaign, Grouping(grouping), ExportFormat(fmt), include_calls, reason, unmasked
    )
    path = run(_export(settings, request, actor, out, password))
    click.echo(f"wrote {path}")


async def _print(
    settings: Settings,
    campaign: str,
    grouping: Grouping,
    include_calls: bool,
    actor: str,
) -> None:
    console = Console()
    async with database(settings) as pool, pool.acquire() as conn:
        who = await viewer(conn, actor)
        if who.role == "operator":
            grouping = Grouping.OPERATOR
        now = datetime.now(UTC)
        result = await campaign_report(
            conn, campaign, grouping, as_of=now, scope=who.scope
        )
        for table in stats_tables(result, console.width):
            console.print(table)
        if include_calls:
            columns, rows = await call_rows(
                conn, result.campaign_id, result.timezone, who.scope
            )
            await audit_read(
                conn, who, "calls_read", "campaign", result.campaign_id, calls=len(rows)
            )
            console.print(calls_table(columns, mask_calls(columns, rows)))


async def _export(
    settings: Settings,
    request: ExportRequest,
    actor: str,
    out: Path,
    password: str | None,
) -> Path:
    async with database(settings) as pool, pool.acquire() as conn:
        who = await viewer(conn, actor)
        async with conn.transaction():
            _, content = await build_export(conn, who, request, datetime.now(UTC))
    member = out.name
    if password is not None:
        member = out.name.removesuffix(".zip")
        if not out.name.endswith(".zip"):
            out = out.with_name(out.name + ".zip")

    return save_export(content, out, member, password)


COMMANDS = [report]
