"""
``outdial operator``: accounts of operators, directors and admins, which
campaigns use operators, the live board; ``outdial supervise``: listen-in,
whisper and barge, and their log.
"""

import asyncio
import json
import sys
from typing import Any

import asyncpg
import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from engine.cli.common import database, run, setup
from engine.clock import SystemClock
from engine.db.audit import audit
from engine.operators.accounts import Account, AccountStore, Role
from engine.operators.board import Board, read_board
from engine.operators.exceptions import SurveyConfigError
from engine.operators.pacing import campaign_operator_settings
from engine.operators.service import OperatorService
from engine.operators.survey import survey_settings
from engine.settings import Settings


def _store(settings: Settings, pool: asyncpg.Pool) -> AccountStore:
    return AccountStore.from_settings(settings, pool, SystemClock())


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")

    return click.prompt("password", hide_input=True, confirmation_prompt=True)


@click.group()
def operator() -> None:
    """Manage operator, director and admin accounts."""


@operator.command("add")
@click.argument("operator_id")
@click.option("--name", required=True, help="Full name as directors see it.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.OPERATOR.value,
    show_default=True,
)
@click.option("--endpoint", help="Softphone endpoint, e.g. PJSIP/6001.")
@click.option("--team", help="Team name, for the board and reports.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--actor", default="admin", show_default=True, help="Who is acting.")
def add(
    operator_id: str,
    name: str,
    role: str,
    endpoint: str | None,
    team: str | None,
    password_stdin: bool,
    actor: str,
) -> None:
    """Add an account; its first password must be changed at first login."""
    settings = setup()
    password = _read_password(password_stdin)

    async def go() -> Account:
        async with database(settings) as pool:
            return await _store(settings, pool).create(
                operator_id,
                name,
                role,
                password,
                endpoint=endpoint,
                team=team,
                actor=actor,
            )

    account = run(go())
    click.echo(f"added {account.role.value} {account.id}")


@operator.command("passwd")
@click.argument("operator_id")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option(
    "--no-force-change",
    is_flag=True,
    help="Do not make the operator change it at next login.",
)
@click.option("--actor", default="admin", show_default=True, help="Who is acting.")
def passwd(
    operator_id: str, password_stdin: bool, no_force_change: bool, actor: str
) -> None:
    """Set a new password (an admin reset)."""
    settings = setup()
    password = _read_password(password_stdin)

    async def go() -> None:
        async with database(settings) as pool:
            await _store(settings, pool).set_password(
                operator_id, password, actor=actor, must_change=not no_force_change
            )

    run(go())
    click.echo(f"password of {operator_id} changed")


@operator.command("lock")
@click.argument("operator_id")
@click.option("--reason", default="locked by an admin", show_default=True)
@click.option("--actor", default="admin", show_default=True, help="Who is acting.")
def lock(operator_id: str, reason: str, actor: str) -> None:
    """Lock an account: no login succeeds until it is unlocked."""
    settings = setup()

    async def go() -> None:
        async with database(settings) as pool:
            await _store(settings, pool).lock(operator_id, actor=actor, reason=reason)

    run(go())
    click.echo(f"locked {operator_id}")


@operator.command("unlock")
@click.argument("operator_id")
@click.option("--actor", default="admin", show_default=True, help="Who is acting.")
def unlock(operator_id: str, actor: str) -> None:
    """Unlock an account and clear its failure count."""
    settings = setup()

    async def go() -> None:
        async with database(settings) as pool:
            await _store(settings, pool).unlock(operator_id, actor=actor)

    run(go())
    click.echo(f"unlocked {operator_id}")


@operator.command("list")
def list_accounts() -> None:
    """List every account."""
    settings = setup()

    async def go() -> list[Account]:
        async with database(settings) as pool:
            return await _store(settings, pool).list_all()

    table = Table("id", "name", "role", "endpoint", "team", "expires", "state")
    for a in run(go()):
        state = (
            "locked" if a.locked else "must change" if a.must_change_password else "ok"
        )
        table.add_row(
            a.id,
            a.name,
            a.role.value,
            a.endpoint or "",
            a.team or "",
            a.password_expires_at.date().isoformat(),
            state,
        )
    Console().print(table)


@operator.command("campaign")
@click.argument("campaign_name")
@click.option("--ratio", type=float, help="Calls in flight per free operator.")
@click.option("--wrap-up", "wrap_up_s", type=float, help="Wrap-up seconds after calls.")
@click.option("--complaints-max", type=int, help="Pause after this many complaints...")
@click.option("--complaints-window", type=float, help="...within these minutes.")
@click.option(
    "--complaints-share", type=float, help="Or this share of connected calls."
)
@click.option(
    "--disable", is_flag=True, help="Answered calls no longer go to operators."
)
@click.option("--actor", default="admin", show_default=True, help="Who is acting.")
def campaign_operators(
    campaign_name: str, disable: bool, actor: str, **values: Any
) -> None:
    """Send a campaign's answered calls to operators, with its pacing and limits."""
    settings = setup()
    block = _operator_block(values, disable)

    async def go() -> dict[str, Any]:
        async with database(settings) as pool:
            return await set_campaign_operators(pool, campaign_name, block, actor)

    click.echo(f"{campaign_name}: operators {json.dumps(run(go()))}")


def _operator_block(values: dict[str, Any], disable: bool) -> dict[str, Any]:
    for name in ("ratio", "wrap_up_s", "complaints_window", "complaints_share"):
        if values.get(name) is not None and values[name] < 0:
            raise click.BadParameter(f"{name} must not be negative")
    block: dict[str, Any] = {"enabled": not disable}
    for key in ("ratio", "wrap_up_s"):
        if values.get(key) is not None:
            block[key] = values[key]
    complaints = {
        "max": values.get("complaints_max"),
        "window_min": values.get("complaints_window"),
        "max_share": values.get("complaints_share"),
    }
    complaints = {k: v for k, v in complaints.items() if v is not None}
    if complaints:
        block["complaints"] = complaints

    return block


async def set_campaign_operators(
    pool: asyncpg.Pool, campaign_name: str, block: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Merge ``block`` into the campaign's ``settings.operators``, audited."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, settings FROM campaigns WHERE name = $1 FOR UPDATE",
            campaign_name,
        )
        if row is None:
            raise click.ClickException(f"no campaign named {campaign_name!r}")
        current = dict(row["settings"] or {})
        merged = campaign_operator_settings(current) | block
        current["operators"] = merged
        await conn.execute(
            "UPDATE campaigns SET settings = $2, updated_at = now() WHERE id = $1",
            row["id"],
            current,
        )
        await audit(
            conn,
            actor,
            "campaign_operators_set",
            "campaign",
            row["id"],
            operators=merged,
        )

    return merged


@operator.command("survey")
@click.argument("campaign_name")
@click.option("--prompt", help="The question, as a media uri: sound:rate-your-call.")
@click.option("--max-digit", type=int, default=5, show_default=True)
@click.option("--timeout", "timeout_s", type=float, default=8.0, show_default=True)
@click.option("--off", is_flag=True, help="No survey for this campaign any more.")
@click.option("--actor", default="admin", show_default=True, help="Who is acting.")
def campaign_survey(
    campaign_name: str,
    prompt: str | None,
    max_digit: int,
    timeout_s: float,
    off: bool,
    actor: str,
) -> None:
    """Ask a campaign's customers one question when their operator hangs up."""
    settings = setup()
    survey: dict[str, Any] | None = None
    if not off:
        survey = {"prompt": prompt, "max_digit": max_digit, "timeout_s": timeout_s}
        try:
            survey_settings({"survey": survey})
        except SurveyConfigError as exc:
            raise click.BadParameter(str(exc)) from exc

    async def go() -> None:
        async with database(settings) as pool:
            await set_campaign_survey(pool, campaign_name, survey, actor)

    run(go())
    click.echo(f"{campaign_name}: survey {json.dumps(survey)}")


async def set_campaign_survey(
    pool: asyncpg.Pool, campaign_name: str, survey: dict[str, Any] | None, actor: str
) -> None:
    """Set (or with None remove) the campaign's ``settings.survey``, audited."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, settings FROM campaigns WHERE name = $1 FOR UPDATE",
            campaign_name,
        )
        if row is None:
            raise click.ClickException(f"no campaign named {campaign_name!r}")
        current = dict(row["settings"] or {})
        current.pop("survey", None)
        if survey is not None:
            current["survey"] = survey
        await conn.execute(
            "UPDATE campaigns SET settings = $2, updated_at = now() WHERE id = $1",
            row["id"],
            current,
        )
        await audit(
            conn, actor, "campaign_survey_set", "campaign", row["id"], survey=survey
        )


@operator.command("board")
@click.option("--watch", is_flag=True, help="Refresh every second until Ctrl-C.")
def board(watch: bool) -> None:
    """The live board: operators, calls in progress, campaigns."""
    settings = setup()

    async def go() -> None:
        async with database(settings) as pool:
            snapshot = await read_board(pool, SystemClock().now())
            if not watch:
                Console().print(board_view(snapshot))
                return
            with Live(
                board_view(snapshot), console=Console(), auto_refresh=False
            ) as live:
                while True:
                    await asyncio.sleep(1.0)
                    snapshot = await read_board(pool, SystemClock().now())
                    live.update(board_view(snapshot), refresh=True)

    try:
        run(go())
    except KeyboardInterrupt:
        click.echo("stopped watching")


def board_view(snapshot: Board) -> Group:
    """The board as rich tables (``campaign status --watch`` may show it too)."""
    ops = Table(
        "operator", "team", "state", "since", "calls", "call", title="operators"
    )
    for o in snapshot.operators:
        since = f"{(snapshot.at - o.state_since).total_seconds():.0f}s"
        detail = o.pause_reason if o.state == "paused" else (o.call_id or "")
        ops.add_row(
            o.operator_id, o.team or "", o.state, since, str(o.calls_taken), detail
        )
    calls = Table("call", "campaign", "number", "state", "operator", title="calls")
    for c in snapshot.calls:
        calls.add_row(c.call_id, c.campaign, c.phone, c.state, c.operator_id or "")
    camps = Table(
        "campaign",
        "state",
        "in progress",
        "connected",
        "abandoned",
        "complaints",
        "free operators",
        "reason",
        title="campaigns",
    )
    for k in snapshot.campaigns:
        camps.add_row(
            k.name,
            k.state,
            str(k.in_progress),
            str(k.connected),
            str(k.abandoned),
            str(k.complaints),
            str(k.free_operators),
            k.state_reason or "",
        )
    footer = f"open escalations: {snapshot.open_escalations}"

    return Group(ops, calls, camps, footer)


@click.group()
def supervise() -> None:
    """Listen in on, whisper into or barge into a live call (directors)."""


_VERBS = {
    "listen": "Listen in on",
    "whisper": "Whisper to the operator on",
    "barge": "Barge into",
}


def _supervise_command(mode: str) -> click.Command:
    @click.command(mode)
    @click.argument("call_id")
    @click.option("--as", "director_id", required=True, help="The director's id.")
    @click.option(
        "--password-stdin", is_flag=True, help="Read the password from stdin."
    )
    def command(call_id: str, director_id: str, password_stdin: bool) -> None:
        settings = setup()
        password = (
            sys.stdin.readline().rstrip("\n")
            if password_stdin
            else click.prompt("password", hide_input=True)
        )
        run(_supervise(settings, call_id, director_id, password, mode))

    command.help = (
        f"{_VERBS[mode]} CALL_ID: the engine calls your softphone;"
        " hang up (or Ctrl-C here) to leave."
    )

    return command


async def _supervise(
    settings: Settings, call_id: str, director_id: str, password: str, mode: str
) -> None:
    async with database(settings) as pool:
        service = OperatorService(pool, SystemClock(), _store(settings, pool))
        director = await service.authenticate(director_id, password)
        sup_id = await service.supervise(director, call_id, mode)
        click.echo(f"supervision {sup_id}: calling your softphone {director.endpoint}")
        try:
            await _follow(pool, sup_id)
        finally:
            await service.end_supervision(director, sup_id)


async def _follow(pool: asyncpg.Pool, sup_id: int) -> None:
    joined = False
    while True:
        row = await pool.fetchrow(
            "SELECT supervisor_channel_id, ended_at, end_reason"
            " FROM supervision_sessions WHERE id = $1",
            sup_id,
        )
        if row["ended_at"] is not None:
            click.echo(f"supervision {sup_id} ended: {row['end_reason']}")
            return
        if row["supervisor_channel_id"] and not joined:
            joined = True
            click.echo(f"supervision {sup_id}: joined")
        await asyncio.sleep(0.5)


@supervise.command("list")
@click.option("--call", "call_id", help="Only sessions on this call.")
@click.option("--limit", default=50, show_default=True)
def list_supervision(call_id: str | None, limit: int) -> None:
    """Who listened to which call, and when."""
    settings = setup()

    async def go() -> list[asyncpg.Record]:
        async with database(settings) as pool:
            rows: list[asyncpg.Record] = await pool.fetch(
                "SELECT id, supervisor_id, call_id, operator_id, mode, started_at,"
                " ended_at, end_reason FROM supervision_sessions"
                " WHERE $1::text IS NULL OR call_id = $1 ORDER BY id DESC LIMIT $2",
                call_id,
                limit,
            )

        return rows

    table = Table("id", "director", "call", "operator", "mode", "from", "to", "end")
    for r in run(go()):
        table.add_row(
            str(r["id"]),
            r["supervisor_id"],
            r["call_id"],
            r["operator_id"] or "",
            r["mode"],
            r["started_at"].isoformat(timespec="seconds"),
            r["ended_at"].isoformat(timespec="seconds") if r["ended_at"] else "",
            r["end_reason"] or "",
        )
    Console().print(table)


for _mode in ("listen", "whisper", "barge"):
    supervise.add_command(_supervise_command(_mode))


COMMANDS = [operator, supervise]
