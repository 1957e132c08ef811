"""
A director's day end to end, each step a real ``outdial`` command in its own
process: create the campaign, import a CSV, start it, run the engine, pause
it, read the status, resume it until it finishes. What compliance officers
set up beforehand (the approved line, a do-not-call entry, the holiday
choice) goes through the compliance API.

Only the simulator lives in the test process, so that what Asterisk was asked
to dial (``sim.originations``) can be compared with what Postgres holds.
"""

import asyncio
import re
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from dialer_helpers import assert_archive_complete, engine_env, outdial_command

from engine.compliance.callerids import approve
from engine.compliance.dnc import add_entry
from engine.compliance.policy import set_policy
from engine.settings import Settings
from engine.sim import Behaviour, Simulator

NAME = "cli-e2e-survey"
GOOD = [f"+8613977777{i:03d}" for i in range(30)]
LISTED = GOOD[7]
# How long a pause may take to reach a running engine.
PAUSE_REACH = timedelta(seconds=1)


async def outdial(env: dict[str, str], *args: str) -> str:
    """Run one ``outdial`` command to its end; its stdout. It must succeed."""
    proc = await asyncio.create_subprocess_exec(
        *outdial_command(),
        *args,
        env=env | {"COLUMNS": "160", "PYTHONIOENCODING": "utf-8"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, (args, out.decode(), err.decode())

    return out.decode()


def write_list(path: Path) -> Path:
    """A spreadsheet export: national numbers, a name column, one bad row."""
    rows = ["手机号,姓名"]
    rows += [f"{phone.removeprefix('+86')},客户{i}" for i, phone in enumerate(GOOD)]
    rows.insert(5, "12345,坏号码")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    return path


def table_rows(text: str) -> list[list[str]]:
    """The cells of every row of the tables rich printed."""
    rows = ([c.strip() for c in re.split("[│┃]", line)] for line in text.splitlines())
    return [[c for c in row if c] for row in rows if len(row) > 2]


def _contacts_table(status: str) -> dict[str, int]:
    rows = table_rows(status)
    head = next(i for i, row in enumerate(rows) if row[0] == "total")
    return dict(zip(rows[head], map(int, rows[head + 1]), strict=True))


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 60) -> None:
    """Poll an async predicate until it holds."""
    async with asyncio.timeout(seconds):
        done = await check()
        while not done:
            await asyncio.sleep(0.05)
            done = await check()


async def approve_line_and_list(pool: asyncpg.Pool) -> None:
    """What compliance officers set up: the line and a do-not-call entry."""
    async with pool.acquire() as conn:
        await approve(conn, "95555", label="e2e line", actor="e2e")
        await add_entry(
            conn,
            LISTED,
            scope="all",
            source="customer_refusal",
            reason="asked not to be called",
            actor="e2e",
            now=datetime.now(UTC),
        )


async def prepare(
    env: dict[str, str], csv: Path, pool: asyncpg.Pool, settings: Settings
) -> None:
    """Everything a director does before the engine dials."""
    await outdial(
        env,
        "campaign",
        "create",
        NAME,
        "--kind",
        "survey",
        "--caller-id",
        "95555",
        "--max-concurrent",
        "2",
        "--cps",
        "4",
        "--ring-timeout",
        "20",
        "--max-attempts",
        "1",
    )
    async with pool.acquire() as conn:
        # Tests run on any day, public holidays included.
        await set_policy(
            conn, NAME, {"call_on_holidays": True}, settings=settings, actor="e2e"
        )
    imported = await outdial(env, "contacts", "import", NAME, str(csv))
    figures = dict(row for row in table_rows(imported) if len(row) == 2)
    assert figures["loaded"] == str(len(GOOD))
    assert figures["bad rows"] == "1"
    assert figures["suppressed (do-not-call)"] == "1"
    assert figures["6"].startswith("invalid phone number '12345'")
    assert "is running" in await outdial(env, "campaign", "start", NAME)


async def test_director_cli_campaign_pause_stops_new_calls(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # Long calls until the pause, so the campaign cannot end before it lands
    # however slowly the commands start; short ones after the resume.
    sim.parties.set("86139*", Behaviour.answer(after=2.0, hangup_after=500.0))
    env = engine_env(settings) | {"OUTDIAL_IMPORT_ARCHIVE_DIR": str(tmp_path)}
    await approve_line_and_list(pool)
    # The engine's JSON log stays in tmp_path, for reading on failure.
    with open(tmp_path / "engine.log", "wb") as log:  # noqa: ASYNC230 - local file
        engine = await asyncio.create_subprocess_exec(
            *outdial_command(), "run", env=env, stdout=log, stderr=log
        )
    try:
        await prepare(env, write_list(tmp_path / "list.csv"), pool, settings)
        await until(lambda: _dialled_at_least(sim, 3))
        assert "is paused" in await outdial(env, "campaign", "pause", NAME)
        acknowledged = datetime.now(UTC)
        await until(lambda: _no_open(pool))
        await asyncio.sleep(1.5)
        late = [o for o in sim.originations if o.wall_at > acknowledged + PAUSE_REACH]
        paused_at = len(sim.originations)
        status = await outdial(env, "campaign", "status", NAME)
        assert not late
        assert 3 <= paused_at < len(GOOD) - 1
        assert f"{NAME} paused" in status
        contacts = _contacts_table(status)
        assert contacts["total"] == len(GOOD)
        assert contacts["suppressed"] == 1
        assert contacts["done"] == paused_at

        sim.parties.set("86139*", Behaviour.answer(after=2.0, hangup_after=20.0))
        assert "is running" in await outdial(env, "campaign", "resume", NAME)
        await until(lambda: _campaign_state(pool, "finished"))
    finally:
        engine.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(engine.wait(), 60) == 0
    await check_finished(sim, pool)


async def check_finished(sim: Simulator, pool: asyncpg.Pool) -> None:
    """Each good number but the listed one dialled once; the archive complete."""
    dialled = sorted("+" + o.number for o in sim.originations)
    assert dialled == sorted(set(GOOD) - {LISTED})
    attempts = {r["id"] for r in await pool.fetch("SELECT id FROM call_attempts")}
    assert {o.channel_id for o in sim.originations} == attempts
    listed = await pool.fetchrow("SELECT * FROM contacts WHERE phone = $1", LISTED)
    assert (listed["state"], listed["attempts"]) == ("suppressed", 0)
    await assert_archive_complete(pool)


async def _dialled_at_least(sim: Simulator, n: int) -> bool:
    return len(sim.originations) >= n


async def _no_open(pool: asyncpg.Pool) -> bool:
    return not await pool.fetchval(
        "SELECT count(*) FROM call_attempts WHERE state <> 'ended'"
    )


async def _campaign_state(pool: asyncpg.Pool, state: str) -> bool:
    found = await pool.fetchval("SELECT state FROM campaigns WHERE name = $1", NAME)
    return bool(found == state)
