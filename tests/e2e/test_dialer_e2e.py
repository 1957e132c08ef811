"""
The dialer end to end: the real engine and ``outdial run`` against the simulator.
"""

import asyncio
import contextlib
import signal
from collections import Counter
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from dialer_helpers import (
    assert_archive_complete,
    engine_env,
    make_campaign,
    outdial_command,
)

from engine.ari import AriClient
from engine.clock import SystemClock
from engine.dialer.engine import build_engine
from engine.settings import Settings
from engine.sim import Behaviour, Simulator

ANSWER = [f"+8613900000{i:03d}" for i in range(12)]
BUSY = [f"+8613911111{i:03d}" for i in range(4)]
NO_ANSWER = [f"+8613922222{i:03d}" for i in range(4)]
CONGESTION = [f"+8613933333{i:03d}" for i in range(3)]
REJECTED = [f"+8613944444{i:03d}" for i in range(3)]


def script_parties(sim: Simulator) -> None:
    """
    Numbers whose behaviour the test knows.

    Answered customers stay on the line long enough (0.6 s of wall time) for
    the bridge and recording to start even on a loaded machine: one who hangs
    up before the recording runs counts as failed, not answered.
    """
    sim.parties.set("8613900000*", Behaviour.answer(after=2.0, hangup_after=60.0))
    sim.parties.set("8613911111*", Behaviour.busy())
    sim.parties.set("8613922222*", Behaviour.no_answer())
    sim.parties.set("8613933333*", Behaviour.congestion())
    sim.parties.set("8613944444*", Behaviour.rejected(after=1.0))


async def run_engine_until_idle(settings: Settings, pool: asyncpg.Pool) -> None:
    """The real engine, in this process, until every campaign is done."""
    ari = AriClient.from_settings(settings)
    try:
        engine = build_engine(
            settings,
            pool,
            ari,
            SystemClock(),
            gates=(),  # outcomes and archive; compliance has its own tests
            dsn=settings.database_url.get_secret_value()
            if settings.database_url
            else None,
        )
        await asyncio.wait_for(engine.run(asyncio.Event(), until_idle=True), 40)
    finally:
        await ari.close()


async def open_attempts(pool: asyncpg.Pool) -> int:
    """Attempts not ended."""
    return await pool.fetchval(
        "SELECT count(*) FROM call_attempts WHERE state <> 'ended'"
    )


@pytest.mark.parametrize(
    "template", ["PJSIP/{number}@trunk", "Local/{number}@sim-customers"]
)
async def test_campaign_dialled_outcomes_retries_and_archive(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool, template: str
) -> None:
    """Through a trunk, and through Local channels (busy/congestion: cause 0)."""
    settings = settings.model_copy(update={"dial_template": template})
    script_parties(sim)
    phones = ANSWER + BUSY + NO_ANSWER + CONGESTION + REJECTED
    campaign_id = await make_campaign(
        pool, phones, max_attempts=2, retry_delays={"busy": 1}
    )

    await run_engine_until_idle(settings, pool)

    attempts = await pool.fetch("SELECT * FROM call_attempts")
    by_id = {a["id"]: a for a in attempts}
    assert sorted(o.channel_id for o in sim.originations) == sorted(by_id)
    outcomes = Counter((a["phone"][:10], a["outcome"]) for a in attempts)
    assert outcomes == {
        ("+861390000", "answered"): 12,
        ("+861391111", "busy"): 8,  # retried once after 1 s, then exhausted
        ("+861392222", "no_answer"): 4,  # not in retry_delays: final
        ("+861393333", "congestion"): 3,
        ("+861394444", "rejected"): 3,
    }
    states = Counter(r["state"] for r in await pool.fetch("SELECT state FROM contacts"))
    assert states == {"done": 22, "exhausted": 4}
    assert await open_attempts(pool) == 0
    await assert_archive_complete(pool)
    campaign = await pool.fetchval(
        "SELECT state FROM campaigns WHERE id = $1", campaign_id
    )
    assert campaign == "finished"
    finished = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'campaign_finished'"
        " AND object_id = $1",
        str(campaign_id),
    )
    assert finished == 1


async def test_originate_variables_and_endpoint_follow_settings(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    script_parties(sim)
    campaign_id = await make_campaign(pool, ANSWER[:1])

    await run_engine_until_idle(settings, pool)

    (origination,) = sim.originations
    attempt = await pool.fetchrow("SELECT * FROM call_attempts")
    assert origination.endpoint == "PJSIP/8613900000000@trunk"
    assert origination.variables["CAMPAIGN_ID"] == str(campaign_id)
    assert origination.variables["CONTACT_ID"] == str(attempt["contact_id"])
    assert origination.variables["ATTEMPT_ID"] == attempt["id"]
    assert list(origination.app_args)[:2] == ["customer", attempt["id"]]


async def _spawn_engine(settings: Settings, *args: str) -> asyncio.subprocess.Process:
    # The engine's JSON log goes next to the archive, for reading on failure.
    log_dir = settings.recordings_dir.parent
    log_file = log_dir / f"engine-{len(list(log_dir.glob('engine-*.log')))}.log"
    with open(log_file, "wb") as log:  # noqa: ASYNC230 - opening a local file
        return await asyncio.create_subprocess_exec(
            *outdial_command(),
            "run",
            *args,
            env=engine_env(settings),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    async with asyncio.timeout(seconds):
        done = await check()
        while not done:
            await asyncio.sleep(0.05)
            done = await check()


async def test_pause_written_in_sql_run_engine_stops_new_calls(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    """The pause as its UPDATE and NOTIFY; test_cli_e2e pauses with the command."""
    sim.parties.set("86139*", Behaviour.answer(after=2.0, hangup_after=30.0))
    phones = [f"+8613955555{i:03d}" for i in range(60)]
    campaign_id = await make_campaign(
        pool, phones, max_concurrent=3, calls_per_second=5
    )
    proc = await _spawn_engine(settings)
    try:
        await _until(lambda: _at_least(sim, 4))
        await pool.execute(
            "UPDATE campaigns SET state = 'paused' WHERE id = $1", campaign_id
        )
        await pool.execute(
            "SELECT pg_notify('outdial_campaign', $1)", f"{campaign_id}:paused"
        )
        await _until(lambda: _no_open(pool))
        dialled = len(sim.originations)
        await asyncio.sleep(1.5)

        assert len(sim.originations) == dialled
        assert dialled < len(phones)
        leased = await pool.fetchval(
            "SELECT count(*) FROM contacts WHERE state = 'leased'"
        )
        assert leased == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    await assert_archive_complete(pool)


async def _at_least(sim: Simulator, n: int) -> bool:
    return len(sim.originations) >= n


async def _no_open(pool: asyncpg.Pool) -> bool:
    return await open_attempts(pool) == 0


@pytest.mark.timeout(300)  # a bound for a hang only; it takes ~15 s
async def test_engine_killed_mid_campaign_restart_finishes_cleanly(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    sim.parties.set("86139*", Behaviour.answer(after=1.0, hangup_after=300.0))
    phones = [f"+8613966666{i:03d}" for i in range(40)]
    await make_campaign(
        pool, phones, max_concurrent=8, calls_per_second=20, retry_delays={}
    )
    first = await _spawn_engine(settings)
    second: asyncio.subprocess.Process | None = None
    try:
        # Generous: a loaded CI machine takes seconds just to start `outdial`.
        await _until(lambda: _answered_at_least(pool, 5), 90)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        killed_with_open = await open_attempts(pool)
        second = await _spawn_engine(settings, "--until-idle")
        assert await _exit_code(second, pool) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()

    # An attempt cut off between its row and the originate may or may not have
    # rung: it is closed as failed and, with no retries, never dialled again.
    numbers = Counter(o.number for o in sim.originations)
    assert killed_with_open > 0
    assert set(numbers.values()) == {1}
    assert len(numbers) >= len(phones) - killed_with_open
    left = await pool.fetchval(
        "SELECT count(*) FROM contacts WHERE state IN ('pending', 'leased')"
    )
    assert left == 0
    assert await open_attempts(pool) == 0
    attempts = await pool.fetch("SELECT id, outcome, originated_at FROM call_attempts")
    never_sent = {a["id"] for a in attempts} - {o.channel_id for o in sim.originations}
    assert {o.channel_id for o in sim.originations} <= {a["id"] for a in attempts}
    assert all(
        a["outcome"] in ("cancelled", "failed")
        for a in attempts
        if a["id"] in never_sent
    )
    await assert_archive_complete(pool, crashed=True)


async def _exit_code(
    proc: asyncio.subprocess.Process, pool: asyncpg.Pool, stall_s: float = 45.0
) -> int:
    """
    The engine's exit code once it exits by itself.

    No deadline on the whole run (a loaded machine is slow, not wrong): it
    fails only when attempts and recordings stop moving for ``stall_s``.
    """
    loop = asyncio.get_running_loop()
    seen, moved_at = None, loop.time()
    while True:
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(proc.wait(), 1.0)
        progress = await pool.fetchval(
            "SELECT (SELECT count(*) FROM call_attempts WHERE state = 'ended')"
            " + (SELECT count(*) FROM call_attempts)"
            " + (SELECT count(*) FROM recordings WHERE state = 'archived')"
        )
        if progress != seen:
            seen, moved_at = progress, loop.time()
        assert loop.time() - moved_at < stall_s, f"engine stalled at {progress}"


async def _answered_at_least(pool: asyncpg.Pool, n: int) -> bool:
    count = await pool.fetchval(
        "SELECT count(*) FROM call_attempts WHERE answered_at IS NOT NULL"
    )
    return count >= n
