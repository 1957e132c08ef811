"""
Recording of answered calls, end to end against the simulator and Postgres:
the bridge recording starts before anything else, every answered call ends
with exactly one archived file, and the copy on Asterisk is deleted.
"""

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from argon2 import PasswordHasher

from engine.ari import AriClient
from engine.clock import FakeClock, SystemClock
from engine.dialer.engine import build_engine
from engine.operators.accounts import AccountStore
from engine.operators.service import OperatorService
from engine.operators.sessions import SessionState
from engine.operators.wiring import build_operators
from engine.settings import Settings
from engine.sim import Behaviour, Simulator
from engine.sim.testing import RawAri


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A simulator where a simulated minute lasts 0.6 s."""
    simulator = Simulator(time_scale=0.01, seed=13)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def settings(sim: Simulator, db_dsn: str, tmp_path: Path) -> Settings:
    """Engine settings on the simulator and the test database."""
    return Settings(
        database_url=db_dsn,
        ari_url=sim.url,
        engine_id="rec-engine",
        lease_seconds=10,
        recordings_dir=tmp_path / "recordings",
        drain_seconds=10,
    )


@pytest.fixture
async def observer(sim: Simulator) -> AsyncIterator[RawAri]:
    """A second app subscribed to everything: the simulator's event order."""
    async with RawAri(sim.url, "outdial", "outdial", app="observer") as raw:
        await raw.connect({"subscribeAll": "true"})
        yield raw


async def add_campaign(pool: asyncpg.Pool, phones: list[str]) -> int:
    """A running survey campaign with these contacts, due now."""
    campaign_id: int = await pool.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id, state, calls_per_second,"
        " max_concurrent) VALUES ('rec', 'survey', '95555', 'running', 50, 10)"
        " RETURNING id"
    )
    await pool.executemany(
        "INSERT INTO contacts (campaign_id, phone, next_attempt_at)"
        " VALUES ($1, $2, now() - interval '1 minute')",
        [(campaign_id, p) for p in phones],
    )

    return campaign_id


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 30) -> None:
    """Wait until ``check()`` holds (a liveness bound, not a timing assertion)."""
    async with asyncio.timeout(seconds):
        done = await check()
        while not done:
            await asyncio.sleep(0.02)
            done = await check()


async def run_engine_until(
    settings: Settings,
    pool: asyncpg.Pool,
    done: Callable[[], Awaitable[bool]],
    **parts: Any,
) -> None:
    """Run the dialer engine until ``done()`` holds, then stop it cleanly."""
    ari = AriClient.from_settings(settings)
    clock = FakeClock(datetime.now(UTC))
    # No dial gates: these tests are about recording, not compliance.
    engine = build_engine(settings, pool, ari, clock, gates=(), **parts)
    stopping = asyncio.Event()
    task = asyncio.create_task(engine.run(stopping))
    try:
        await eventually(done)
    finally:
        stopping.set()
        await asyncio.wait_for(task, 30)
        await ari.close()


def all_archived(pool: asyncpg.Pool, count: int) -> Callable[[], Awaitable[bool]]:
    """Check: every attempt ended and ``count`` recordings settled."""

    async def check() -> bool:
        row = await pool.fetchrow(
            "SELECT (SELECT count(*) FROM call_attempts WHERE state <> 'ended') AS open,"
            " (SELECT count(*) FROM recordings"
            "  WHERE state IN ('archived', 'failed')) AS settled"
        )
        return row["open"] == 0 and row["settled"] >= count

    return check


def index_of(
    events: list[dict[str, Any]], match: Callable[[dict[str, Any]], bool]
) -> int:
    """Position of the first matching event (fails the test when there is none)."""
    found = [i for i, event in enumerate(events) if match(event)]
    assert found, "expected event not seen"

    return found[0]


async def test_answer_recording_started_before_playback(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool, observer: RawAri
) -> None:
    sim.parties.set("8613800001301", Behaviour.answer(after=1, hangup_after=60))
    await add_campaign(pool, ["+8613800001301"])

    await run_engine_until(settings, pool, all_archived(pool, 1))

    attempt_id = await pool.fetchval("SELECT id FROM call_attempts")
    events = observer.events
    recording = index_of(
        events,
        lambda e: (
            e["type"] == "RecordingStarted"
            and e["recording"]["target_uri"] == f"bridge:bridge-{attempt_id}"
        ),
    )
    playback = index_of(
        events,
        lambda e: (
            e["type"] == "PlaybackStarted"
            and e["playback"]["target_uri"] == f"channel:{attempt_id}"
        ),
    )
    stasis = index_of(
        events,
        lambda e: e["type"] == "StasisStart" and e["channel"]["id"] == attempt_id,
    )

    assert stasis < recording < playback


async def test_archive_deletes_stored_copy_file_matches_checksum(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool, observer: RawAri
) -> None:
    sim.parties.set("8613800001302", Behaviour.answer(after=1, hangup_after=5))
    await add_campaign(pool, ["+8613800001302"])

    await run_engine_until(settings, pool, all_archived(pool, 1))

    row = await pool.fetchrow("SELECT * FROM recordings")
    data = await asyncio.to_thread(Path(row["archive_path"]).read_bytes)
    status, body = await observer.request(
        "GET", f"/ari/recordings/stored/{row['name']}"
    )
    assert row["state"] == "archived"
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert row["size_bytes"] == len(data)
    assert (status, body) == (404, {"message": "Recording not found"})
    assert row["name"] not in {s["name"] for s in (await stored(observer))}


async def stored(raw: RawAri) -> list[dict[str, Any]]:
    """``GET /ari/recordings/stored``."""
    status, body = await raw.request("GET", "/ari/recordings/stored")
    assert status == 200

    return list(body)


# Simulated seconds from answer to the customer's hang-up. With time_scale 0.01
# the shortest ones end before the engine can bridge the channel; 2 s is trace
# 08's customer and 100 s a control that is recorded even on a loaded machine.
QUICK_HANGUPS = (0.0, 0.001, 0.01, 0.05, 0.2, 1.0, 2.0, 100.0)


async def test_quick_hangups_answered_iff_one_archived_recording(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    """
    However soon the customer hangs up, no attempt is answered without a file.

    A customer gone before the recording could start was never connected: the
    attempt ends failed, not answered.
    """
    phones = [f"+86138000014{i:02d}" for i in range(len(QUICK_HANGUPS))]
    for phone, hangup_after in zip(phones, QUICK_HANGUPS, strict=True):
        sim.parties.set(phone[1:], Behaviour.answer(after=1, hangup_after=hangup_after))
    await add_campaign(pool, phones)

    async def settled() -> bool:
        row = await pool.fetchrow(
            "SELECT (SELECT count(*) FROM call_attempts WHERE state = 'ended') AS n,"
            " (SELECT count(*) FROM recordings"
            "  WHERE state NOT IN ('archived', 'failed')) AS busy"
        )
        return row["n"] == len(phones) and row["busy"] == 0

    await run_engine_until(settings, pool, settled)

    rows = await pool.fetch(
        "SELECT a.id, a.outcome, a.answered_at, r.state, r.archive_path, r.sha256,"
        " (SELECT count(*) FROM recordings x WHERE x.attempt_id = a.id) AS n"
        " FROM call_attempts a LEFT JOIN recordings r ON r.attempt_id = a.id"
    )
    answered = [r for r in rows if r["outcome"] == "answered"]
    others = [r for r in rows if r["outcome"] != "answered"]
    assert len(rows) == len(phones)
    assert len(answered) >= 1
    assert {(r["n"], r["state"]) for r in answered} == {(1, "archived")}
    assert all(r["answered_at"] is not None for r in answered)
    assert {r["outcome"] for r in others} <= {"failed"}
    assert all(r["state"] != "archived" for r in others)
    for row in answered:
        data = await asyncio.to_thread(Path(row["archive_path"]).read_bytes)
        assert hashlib.sha256(data).hexdigest() == row["sha256"]


@pytest.mark.parametrize("status", [500, 404, 409])
async def test_recording_start_failure_call_hung_up_not_answered(
    sim: Simulator,
    settings: Settings,
    pool: asyncpg.Pool,
    observer: RawAri,
    status: int,
) -> None:
    """The customer would stay for an hour: only the engine can end this call."""
    sim.parties.set("8613800001501", Behaviour.answer(after=1, hangup_after=360000))
    sim.faults.fail_rest(r"^POST /ari/bridges/[^/]+/record$", status=status, times=1)
    await add_campaign(pool, ["+8613800001501"])

    async def ended() -> bool:
        return (
            await pool.fetchval(
                "SELECT count(*) FROM call_attempts WHERE state = 'ended'"
            )
            == 1
        )

    await run_engine_until(settings, pool, ended)

    attempt = await pool.fetchrow("SELECT * FROM call_attempts")
    recording = await pool.fetchrow("SELECT * FROM recordings")
    index_of(
        observer.events,
        lambda e: (
            e["type"] == "ChannelDestroyed" and e["channel"]["id"] == attempt["id"]
        ),
    )
    assert attempt["id"] not in sim.channels
    assert not observer.of_type("RecordingStarted")
    assert not observer.of_type("PlaybackStarted")
    assert (attempt["outcome"], attempt["answered_at"]) == ("failed", None)
    assert (recording["state"], recording["last_error"] is not None) == (
        "failed",
        True,
    )


FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


async def operator_ready(service: OperatorService, sim: Simulator) -> None:
    """One operator, softphone PJSIP/6001, logged in and ready."""
    await service.accounts.create(
        "op1", "Op One", "operator", "first password 1", endpoint="PJSIP/6001"
    )
    await service.accounts.change_password(
        "op1", "first password 1", "shift password 2026"
    )
    sim.softphones.register("6001", answer_after=0.5)
    account = await service.authenticate("op1", "shift password 2026")
    await service.start_session(account)

    async def ready() -> bool:
        session = await service.session(account)
        return session is not None and session.state is SessionState.READY

    await eventually(ready)


async def test_answer_recording_started_before_operator_joins(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool, observer: RawAri
) -> None:
    """With the operators' answer handler (as ``outdial run`` wires it)."""
    sim.parties.set("8613800001601", Behaviour.answer(after=1, hangup_after=30))
    campaign_id = await add_campaign(pool, [])
    await pool.execute(
        "UPDATE campaigns SET state = 'paused', kind = 'collections',"
        " settings = $2 WHERE id = $1",
        campaign_id,
        {"operators": {"ratio": 1.0}},
    )
    await pool.execute(
        "INSERT INTO contacts (campaign_id, phone) VALUES ($1, '+8613800001601')",
        campaign_id,
    )
    ari = AriClient.from_settings(settings)
    clock = SystemClock()
    engine = build_engine(settings, pool, ari, clock, gates=())
    operators = build_operators(settings, pool, ari, clock)
    operators.service.accounts = AccountStore(pool, clock, hasher=FAST_HASHER)
    operators.attach(engine)
    stopping = asyncio.Event()
    try:
        async with operators.running():
            task = asyncio.create_task(engine.run(stopping))
            try:
                await operator_ready(operators.service, sim)
                await pool.execute("UPDATE campaigns SET state = 'running'")
                await eventually(all_archived(pool, 1))
            finally:
                stopping.set()
                await asyncio.wait_for(task, 30)
    finally:
        await ari.close()

    attempt_id = await pool.fetchval("SELECT id FROM call_attempts")
    bridge = f"bridge-{attempt_id}"
    recording = index_of(
        observer.events,
        lambda e: (
            e["type"] == "RecordingStarted"
            and e["recording"]["target_uri"] == f"bridge:{bridge}"
        ),
    )
    operator_joins = index_of(
        observer.events,
        lambda e: (
            e["type"] == "ChannelEnteredBridge"
            and e["bridge"]["id"] == bridge
            and e["channel"]["name"].startswith("PJSIP/6001-")
        ),
    )
    assert await pool.fetchval("SELECT count(*) FROM operator_calls") == 1
    assert recording < operator_joins
