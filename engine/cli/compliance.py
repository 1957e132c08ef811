"""
``outdial compliance``: windows, the institution calendar, caller ids,
callbacks, waiting reasons; and ``outdial contacts why`` / ``compliance why``.
"""

from datetime import UTC, datetime, timedelta

import asyncpg
import click
from rich.console import Console
from rich.table import Table

from engine.campaigns.exceptions import InvalidPhoneError
from engine.campaigns.phones import normalise
from engine.cli.campaign import actor_option, resolve_actor, with_pool
from engine.clock import SystemClock
from engine.compliance import calendar as cal
from engine.compliance import callbacks, callerids, status
from engine.compliance.exceptions import ComplianceError
from engine.compliance.explain import Explanation, explain
from engine.compliance.policy import set_policy
from engine.compliance.windows import institution_windows
from engine.settings import get_settings


@click.group()
def compliance() -> None:
    """Calling windows, calendar, caller ids, callbacks and why contacts wait."""


@compliance.command()
def windows() -> None:
    """Show the institution's calling window for each kind of call."""
    click.echo("calling windows, in the called party's local time:")
    for kind, window in institution_windows(get_settings().calling_windows).items():
        click.echo(f"{kind}: {window.describe()}")


@compliance.command()
@click.argument("campaign")
@click.option("--window", help="Narrower window, e.g. 'mon-fri 10:00-12:00'.")
@click.option("--clear-window", is_flag=True, help="Use the kind's whole window.")
@click.option("--holidays/--no-holidays", default=None, help="Call on public holidays.")
@click.option("--per-day", type=int, help="Most calls to a contact in a day.")
@click.option("--gap", type=int, help="Seconds between calls to one number.")
@actor_option
def policy(
    campaign: str,
    window: str | None,
    clear_window: bool,
    holidays: bool | None,
    per_day: int | None,
    gap: int | None,
    actor: str | None,
) -> None:
    """Set (or show) CAMPAIGN's window, holiday choice and limits."""
    changes: dict[str, object] = {}
    if window is not None or clear_window:
        changes["calling_window"] = None if clear_window else window
    for key, value in (
        ("call_on_holidays", holidays),
        ("max_attempts_per_day", per_day),
        ("min_call_gap_s", gap),
    ):
        if value is not None:
            changes[key] = value
    settings = get_settings()

    async def go(pool: asyncpg.Pool) -> dict[str, object]:
        async with pool.acquire() as conn:
            return await set_policy(
                conn, campaign, changes, settings=settings, actor=resolve_actor(actor)
            )

    for key, value in with_pool(go).items():
        click.echo(f"{key}: {'(institution default)' if value is None else value}")


@click.command()
@click.argument("campaign")
@click.argument("phone")
def why(campaign: str, phone: str) -> None:
    """Explain why the contact PHONE of CAMPAIGN is or is not dialable now."""
    settings = get_settings()

    async def go(pool: asyncpg.Pool) -> Explanation:
        async with pool.acquire() as conn:
            return await explain(conn, campaign, phone, SystemClock().now(), settings)

    click.echo(with_pool(go).render())


compliance.add_command(why)


async def waiting_table(pool: asyncpg.Pool, campaign_id: int) -> Table:
    """Contacts per reason they wait (or are out of the queue), as a table."""
    reasons = await status.waiting_reasons(pool, campaign_id, SystemClock().now())
    fallbacks = await status.zone_fallbacks(pool, campaign_id)
    table = Table(title="contacts by reason (now)")
    table.add_column("reason")
    table.add_column("contacts", justify="right")
    for reason, count in reasons.items():
        table.add_row(reason, str(count))
    table.add_row(
        "[dim]called in the campaign's zone (zone unknown)[/]", str(fallbacks)
    )

    return table


@compliance.command()
@click.argument("campaign_id", type=int)
def waiting(campaign_id: int) -> None:
    """Count a campaign's contacts per reason they wait (or are out)."""
    Console().print(with_pool(lambda pool: waiting_table(pool, campaign_id)))


# Calendar ----------------------------------------------------------------------


@compliance.group(name="calendar")
def calendar_() -> None:
    """The institution's own closed and open dates, and public holidays."""


@calendar_.command(name="list")
@click.option("--days", default=90, show_default=True, help="How far ahead.")
def list_dates(days: int) -> None:
    """List the institution's own dates from today."""
    start = SystemClock().now().date()

    async def go(pool: asyncpg.Pool) -> list[asyncpg.Record]:
        async with pool.acquire() as conn:
            return await cal.list_dates(conn, start, start + timedelta(days=days))

    for r in with_pool(go):
        click.echo(f"{r['day']}  {r['country']:>2}  {r['status']:<6}  {r['reason']}")


def _set_date(
    day: datetime, status_: str, country: str, reason: str, actor: str | None
) -> None:
    async def go(pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn:
            await cal.set_date(
                conn,
                day.date(),
                status_,
                country=country,
                reason=reason,
                actor=resolve_actor(actor),
            )

    with_pool(go)
    click.echo(f"{day.date()} is {status_} for {country}")


_day = click.argument("day", type=click.DateTime(["%Y-%m-%d"]))
_country = click.option(
    "--country", default="*", show_default=True, help="ISO code or *."
)
_reason = click.option("--reason", required=True, help="Why (shown in contacts why).")


@calendar_.command()
@_day
@_country
@_reason
@actor_option
def close(day: datetime, country: str, reason: str, actor: str | None) -> None:
    """No calls at all on DAY (in the called party's local date)."""
    _set_date(day, cal.CLOSED, country, reason, actor)


@calendar_.command(name="open")
@_day
@_country
@_reason
@actor_option
def open_(day: datetime, country: str, reason: str, actor: str | None) -> None:
    """Call on DAY with the windows' ``workday`` hours, holiday or weekend."""
    _set_date(day, cal.OPEN, country, reason, actor)


@calendar_.command()
@_day
@_country
@actor_option
def clear(day: datetime, country: str, actor: str | None) -> None:
    """Remove the institution's own entry for DAY."""

    async def go(pool: asyncpg.Pool) -> bool:
        async with pool.acquire() as conn:
            return await cal.clear_date(
                conn, day.date(), country=country, actor=resolve_actor(actor)
            )

    click.echo("cleared" if with_pool(go) else "no entry for that day")


@calendar_.command()
@click.argument("country")
@click.argument("year", type=int, required=False)
def holidays(country: str, year: int | None) -> None:
    """Public holidays and make-up working days of COUNTRY (from `holidays`)."""
    year = year or SystemClock().now().year
    for day, info in cal.public_days(country, [year]):
        click.echo(f"{day}  {day:%a}  {info.kind:<15}  {info.name}")


# Caller ids --------------------------------------------------------------------


@compliance.group(name="callerid")
def callerid() -> None:
    """The institution's approved caller ids."""


@callerid.command(name="add")
@click.argument("caller_id")
@click.option("--label", default="", help="What the number is (e.g. collections line).")
@actor_option
def callerid_add(caller_id: str, label: str, actor: str | None) -> None:
    """Approve CALLER_ID for campaigns."""

    async def go(pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn:
            await callerids.approve(
                conn, caller_id, label=label, actor=resolve_actor(actor)
            )

    with_pool(go)
    click.echo(f"approved {caller_id}")


@callerid.command(name="revoke")
@click.argument("caller_id")
@click.option("--reason", required=True, help="Why (required, audited).")
@actor_option
def callerid_revoke(caller_id: str, reason: str, actor: str | None) -> None:
    """Withdraw CALLER_ID; campaigns using it stop dialling."""

    async def go(pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn:
            await callerids.revoke(
                conn, caller_id, reason=reason, actor=resolve_actor(actor)
            )

    with_pool(go)
    click.echo(f"revoked {caller_id}")


@callerid.command(name="list")
def callerid_list() -> None:
    """List approved (and revoked) caller ids."""
    for r in with_pool(callerids.list_caller_ids):
        state = (
            "approved" if r["revoked_at"] is None else f"revoked: {r['revoke_reason']}"
        )
        click.echo(f"{r['caller_id']:>16}  {state:<30}  {r['label']}")


# Callbacks ---------------------------------------------------------------------


@compliance.command()
@click.argument("campaign_id", type=int)
@click.argument("phone")
@click.argument("when", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]))
@click.option("--operator", help="Operator who should take the call.")
@click.option("--note", default="")
@actor_option
def callback(
    campaign_id: int,
    phone: str,
    when: datetime,
    operator: str | None,
    note: str,
    actor: str | None,
) -> None:
    """Promise PHONE of CAMPAIGN_ID a call at WHEN (UTC)."""
    try:
        number = normalise(phone, get_settings().default_region)
    except InvalidPhoneError as exc:
        raise click.BadParameter(exc.reason, param_hint="PHONE") from None

    async def go(pool: asyncpg.Pool) -> int:
        async with pool.acquire() as conn:
            contact_id = await conn.fetchval(
                "SELECT id FROM contacts WHERE campaign_id = $1 AND phone = $2",
                campaign_id,
                number,
            )
            if contact_id is None:
                raise ComplianceError("no contact with that number in that campaign")
            return await callbacks.schedule_callback(
                conn,
                contact_id,
                when.replace(tzinfo=UTC),
                actor=resolve_actor(actor),
                operator=operator,
                note=note,
            )

    click.echo(f"callback {with_pool(go)} scheduled")


def _attach_to_contacts() -> None:
    """Also offer ``why`` as ``outdial contacts why`` (the contacts group is H3's)."""
    try:
        from engine.cli.contacts import contacts
    except ImportError:
        return
    contacts.add_command(why)


_attach_to_contacts()

COMMANDS = [compliance]
