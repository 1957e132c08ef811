"""
``outdial contacts``: load contact lists into campaigns.
"""

import importlib
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from engine.campaigns.contactfile import ENCODINGS
from engine.campaigns.importer import ImportResult, import_contacts
from engine.cli.campaign import actor_option, resolve_actor, with_pool

SHOWN_BAD_ROWS = 20


@click.group()
def contacts() -> None:
    """Load contact lists into campaigns."""


@contacts.command(name="import")
@click.argument("campaign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--region",
    help="Region for numbers without a country code [default: the campaign's].",
)
@click.option(
    "--encoding",
    type=click.Choice(ENCODINGS),
    default="auto",
    show_default=True,
    help="auto: BOM, else UTF-8 if valid, else GBK.",
)
@click.option(
    "--phone-column",
    help="Header of the phone column [default: phone, mobile, 手机号, 电话...].",
)
@click.option("--name-column", help="Header of the name column [default: name, 姓名].")
@click.option("--timezone-column", help="Header of a per-contact time zone column.")
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write every bad row [default: FILE.errors.csv].",
)
@actor_option
def import_(
    campaign: str,
    file: Path,
    region: str | None,
    encoding: str,
    phone_column: str | None,
    name_column: str | None,
    timezone_column: str | None,
    errors_path: Path | None,
    actor: str | None,
) -> None:
    """Import the contacts in CSV FILE into CAMPAIGN."""
    _load_import_hooks()
    result = with_pool(
        lambda pool: import_contacts(
            pool,
            campaign,
            file,
            region=region,
            encoding=encoding,
            phone_column=phone_column,
            name_column=name_column,
            timezone_column=timezone_column,
            errors_path=errors_path,
            actor=resolve_actor(actor),
        )
    )
    print_summary(result, Console())


def _load_import_hooks() -> None:
    """Import compliance, which registers its post-load hooks, when it exists."""
    try:
        importlib.import_module("engine.compliance")
    except ModuleNotFoundError as exc:
        if exc.name != "engine.compliance":
            raise


def print_summary(result: ImportResult, console: Console) -> None:
    """The import's counts, then the first bad rows and where the rest are."""
    table = Table(title=f"import into {result.campaign.name}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("count", justify="right")
    for label, value in (
        ("rows read", result.rows_read),
        ("loaded", result.loaded),
        ("duplicates merged", result.duplicates),
        ("  within the file", result.duplicates_in_file),
        ("  already in the campaign", result.duplicates_existing),
        ("bad rows", result.bad_count),
        *result.extra.items(),
    ):
        table.add_row(label, str(value))
    table.add_row("encoding", result.encoding)
    table.add_row("seconds", f"{result.seconds:.1f}")
    console.print(table)
    if result.bad:
        bad = Table(title=f"bad rows (first {min(SHOWN_BAD_ROWS, len(result.bad))})")
        bad.add_column("line", justify="right")
        bad.add_column("reason")
        for row in result.bad[:SHOWN_BAD_ROWS]:
            bad.add_row(str(row.line), row.reason)
        console.print(bad)
        console.print(f"every bad row is in {result.errors_path}", soft_wrap=True)


COMMANDS = [contacts]
