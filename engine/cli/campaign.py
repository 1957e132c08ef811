"""
``outdial campaign``: create, inspect and steer campaigns (for directors).
"""

import asyncio
import dataclasses
import getpass
import os
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

import asyncpg
import click
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from engine.campaigns import repository
from engine.campaigns.exceptions import CampaignError
from engine.campaigns.kinds import KINDS
from engine.campaigns.models import (
    DEFAULT_RETRY_DELAYS,
    RETRYABLE_OUTCOMES,
    Campaign,
    CampaignSpec,
    Progress,
    RetryPolicy,
)
from engine.cli.common import database, run, setup
from engine.cli.operator import board_view
from engine.clock import SystemClock
from engine.operators.board import Board, read_board

T = TypeVar("T")

CONTACT_STATES = ("pending", "leased", "done", "exhausted", "suppressed", "cancelled")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def with_pool(op: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run ``op(pool)`` on the configured, migrated database."""
    settings = setup()

    async def go() -> T:
        async with database(settings) as pool:
            return await op(pool)

    try:
        return run(go())
    except (
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.InvalidAuthorizationSpecificationError,
        asyncpg.InvalidCatalogNameError,
    ) as exc:
        raise click.ClickException(f"cannot reach the database: {exc}") from exc


def resolve_actor(actor: str | None) -> str:
    """Who is acting, for the audit log: --actor, $OUTDIAL_ACTOR or the OS user."""
    return actor or os.environ.get("OUTDIAL_ACTOR") or getpass.getuser()


actor_option = click.option(
    "--actor",
    help="Name written to the audit log [default: $OUTDIAL_ACTOR or OS user].",
)


def _parse_retry(items: tuple[str, ...]) -> dict[str, int]:
    delays: dict[str, int] = {}
    for item in items:
        outcome, sep, value = item.partition("=")
        value = value.strip().lower()
        scale = _UNITS.get(value[-1:], 1) if value else 1
        digits = value[:-1] if value[-1:] in _UNITS else value
        if not sep or not digits.isdigit():
            raise click.BadParameter(
                f"{item!r} is not OUTCOME=SECONDS (e.g. busy=300 or no_answer=30m)",
                param_hint="--retry",
            )
        delays[outcome.strip().lower().replace("-", "_")] = int(digits) * scale

    return delays


@click.group()
def campaign() -> None:
    """Create, inspect, start, pause, resume and stop calling campaigns."""


@campaign.command()
@click.argument("name")
@click.option("--kind", required=True, help=f"Kind of call: {', '.join(KINDS)}.")
@click.option("--caller-id", required=True, help="Number shown to customers.")
@click.option("--max-concurrent", type=int, default=10, show_default=True)
@click.option(
    "--cps",
    type=float,
    default=5.0,
    show_default=True,
    help="Calls started per second at most.",
)
@click.option(
    "--ring-timeout",
    type=int,
    default=30,
    show_default=True,
    help="Seconds to let a call ring.",
)
@click.option("--max-attempts", type=int, default=3, show_default=True)
@click.option(
    "--retry",
    "retries",
    multiple=True,
    metavar="OUTCOME=DELAY",
    help="Wait DELAY seconds (or 30m, 2h) before retrying after OUTCOME ("
    + ", ".join(RETRYABLE_OUTCOMES)
    + "); repeat it. Outcomes not given are final. Default: "
    + ", ".join(f"{k}={v}" for k, v in DEFAULT_RETRY_DELAYS.items()),
)
@click.option(
    "--timezone",
    default="Asia/Shanghai",
    show_default=True,
    help="Time zone of the calling window when a contact has none.",
)
@click.option(
    "--region",
    default="CN",
    show_default=True,
    help="Region for numbers written without a country code.",
)
@actor_option
def create(
    name: str,
    kind: str,
    caller_id: str,
    max_concurrent: int,
    cps: float,
    ring_timeout: int,
    max_attempts: int,
    retries: tuple[str, ...],
    timezone: str,
    region: str,
    actor: str | None,
) -> None:
    """Create campaign NAME as a draft."""
    delays = _parse_retry(retries) if retries else dict(DEFAULT_RETRY_DELAYS)
    try:
        spec = CampaignSpec(
            name=name,
            kind=kind,
            caller_id=caller_id,
            max_concurrent=max_concurrent,
            calls_per_second=cps,
            ring_timeout_s=ring_timeout,
            retry=RetryPolicy(max_attempts, delays),
            timezone=timezone,
            default_region=region,
        )
    except CampaignError as exc:
        raise click.ClickException(str(exc)) from exc
    created = with_pool(
        lambda pool: repository.create_campaign(pool, spec, resolve_actor(actor))
    )
    click.echo(f"created campaign {created.name!r} (id {created.id}, draft)")


@campaign.command(name="list")
def list_() -> None:
    """List every campaign with its contact counts."""

    async def load(
        pool: asyncpg.Pool,
    ) -> tuple[list[Campaign], dict[int, tuple[int, int]]]:
        return await repository.list_campaigns(pool), await repository.contact_totals(
            pool
        )

    campaigns, totals = with_pool(load)
    table = Table(title="campaigns")
    for column in (
        "id",
        "name",
        "kind",
        "state",
        "contacts",
        "to call",
        "calls",
        "cps",
    ):
        table.add_column(column, no_wrap=column == "name")
    for c in campaigns:
        total, still_open = totals.get(c.id, (0, 0))
        table.add_row(
            str(c.id),
            c.name,
            str(c.kind),
            str(c.state),
            str(total),
            str(still_open),
            str(c.max_concurrent),
            _fmt_cps(c.calls_per_second),
        )
    Console().print(table if campaigns else "no campaigns yet")


def _fmt_cps(value: Decimal) -> str:
    return f"{value.normalize():f}"


@campaign.command()
@click.argument("name")
def show(name: str) -> None:
    """Show the settings and progress of campaign NAME."""
    progress = with_pool(lambda pool: repository.campaign_progress(pool, name))
    console = Console()
    console.print(settings_table(progress.campaign))
    console.print(progress_view(progress))
    # Why contacts wait (window, do-not-call, limits...), from compliance.
    from engine.cli.compliance import waiting_table

    console.print(with_pool(lambda pool: waiting_table(pool, progress.campaign.id)))


def settings_table(c: Campaign) -> Table:
    """The campaign's settings as a two-column table."""
    table = Table(title=f"campaign {c.name}", show_header=False)
    table.add_column("setting", style="bold")
    table.add_column("value")
    retry = ", ".join(f"{k} after {v}s" for k, v in c.retry.delays.items()) or "none"
    for label, value in (
        ("id", str(c.id)),
        ("kind", str(c.kind)),
        ("state", str(c.state)),
        ("reason", c.state_reason or ""),
        ("caller id", c.caller_id),
        ("max concurrent calls", str(c.max_concurrent)),
        ("calls per second", _fmt_cps(c.calls_per_second)),
        ("ring timeout", f"{c.ring_timeout_s}s"),
        ("max attempts", str(c.retry.max_attempts)),
        ("retries", retry),
        ("time zone", c.timezone),
        ("default region", c.default_region),
        ("created", f"{c.created_at:%Y-%m-%d %H:%M:%S %Z} by {c.created_by}"),
    ):
        table.add_row(label, value)

    return table


def progress_view(p: Progress) -> Group:
    """Progress bar, contacts by state, attempts by outcome, calls in progress."""
    total, settled = p.total, p.settled
    share = f"{100 * settled / total:.1f}%" if total else "no contacts"
    head = Table.grid(padding=(0, 1))
    head.add_row(
        f"[bold]{p.campaign.name}[/] {p.campaign.state}",
        ProgressBar(total=max(total, 1), completed=settled, width=40),
        f"{settled}/{total} settled ({share})",
        f"calls in progress: {p.in_progress}",
    )
    contacts = Table(title="contacts")
    attempts = Table(title="attempts")
    for state in ("total", *CONTACT_STATES):
        contacts.add_column(state, justify="right")
    contacts.add_row(str(total), *(str(p.contacts.get(s, 0)) for s in CONTACT_STATES))
    outcomes = sorted(p.outcomes)
    for outcome in ("in progress", *outcomes):
        attempts.add_column(outcome, justify="right")
    attempts.add_row(str(p.in_progress), *(str(p.outcomes[o]) for o in outcomes))

    return Group(head, contacts, attempts)


def _change(action: str) -> click.Command:
    @click.command(name=action, help=f"{action.capitalize()} campaign NAME.")
    @click.argument("name")
    @click.option("--reason", help="Why; kept with the state and in the audit log.")
    @actor_option
    def command(name: str, reason: str | None, actor: str | None) -> None:
        changed = with_pool(
            lambda pool: repository.change_state(
                pool, name, action, resolve_actor(actor), reason
            )
        )
        click.echo(f"campaign {changed.name!r} is {changed.state}")

    return command


for _action in ("start", "pause", "resume", "stop"):
    campaign.add_command(_change(_action))


@campaign.command()
@click.argument("name")
@click.option("--watch", is_flag=True, help="Refresh every second until it ends.")
@click.option("--interval", type=float, default=1.0, hidden=True)
def status(name: str, watch: bool, interval: float) -> None:
    """Show the progress of campaign NAME; --watch keeps it live."""
    if not watch:
        _, view = with_pool(lambda pool: _status_view(pool, name))
        Console().print(view)
        return
    try:
        with_pool(lambda pool: _watch(pool, name, interval))
    except KeyboardInterrupt:
        click.echo("stopped watching")


async def _watch(pool: asyncpg.Pool, name: str, interval: float) -> None:
    progress, view = await _status_view(pool, name)
    with Live(view, console=Console(), auto_refresh=False) as live:
        while not progress.campaign.ended:
            await asyncio.sleep(interval)
            progress, view = await _status_view(pool, name)
            live.update(view, refresh=True)


async def _status_view(pool: asyncpg.Pool, name: str) -> tuple[Progress, Group]:
    """The campaign's progress, contacts waiting per reason, its live board."""
    # Why contacts wait (window, do-not-call, limits...), from compliance.
    from engine.cli.compliance import waiting_table

    progress = await repository.campaign_progress(pool, name)
    waiting = await waiting_table(pool, progress.campaign.id)
    board = campaign_board(
        await read_board(pool, SystemClock().now()), progress.campaign.id
    )
    if not board.operators and not board.calls:
        return progress, Group(progress_view(progress), waiting)

    return progress, Group(progress_view(progress), waiting, board_view(board))


def campaign_board(board: Board, campaign_id: int) -> Board:
    """The board narrowed to one campaign: its calls, operators who may serve it."""
    return dataclasses.replace(
        board,
        operators=[o for o in board.operators if o.campaign_id in (None, campaign_id)],
        calls=[c for c in board.calls if c.campaign_id == campaign_id],
        campaigns=[k for k in board.campaigns if k.campaign_id == campaign_id],
    )


COMMANDS = [campaign]
