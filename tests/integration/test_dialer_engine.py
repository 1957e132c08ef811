"""
The dialer engine in-process against the simulator: gates, fetch retries,
lost WebSockets and the pacing limits.
"""

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import structlog

from engine.ari import AriClient
from engine.clock import Clock, FakeClock, SystemClock
from engine.dialer.calls import Call
from engine.dialer.engine import Engine, build_engine
from engine.dialer.models import Campaign, Contact
from engine.dialer.seams import GateDecision, Stage
from engine.settings import Settings
from engine.sim import Behaviour, Simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A simulator where a simulated minute lasts 0.6 s."""
    simulator = Simulator(time_scale=0.01, seed=3)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def settings(sim: Simulator, db_dsn: str, tmp_path: Path) -> Settings:
    """Engine settings on the simulator and the test database."""
    return Settings(
        database_url=db_dsn,
        ari_url=sim.url,
        engine_id="it-engine",
        lease_seconds=10,
        recordings_dir=tmp_path / "recordings",
        drain_seconds=10,
    )


async def campaign_with(pool: asyncpg.Pool, phones: list[str], **fields: object) -> int:
    """A running campaign with these contacts, due now."""
    columns = {"name": "it", "kind": "survey", "caller_id": "95555", "state": "running"}
    columns |= {"calls_per_second": 50, "max_concurrent": 10, **fields}
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    campaign_id: int = await pool.fetchval(
        f"INSERT INTO campaigns ({', '.join(columns)}) VALUES ({marks}) RETURNING id",
        *columns.values(),
    )
    await pool.executemany(
        "INSERT INTO contacts (campaign_id, phone, next_attempt_at)"
        " VALUES ($1, $2, now() - interval '1 minute')",
        [(campaign_id, p) for p in phones],
    )

    return campaign_id


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    """Wait until ``check()`` holds."""
    async with asyncio.timeout(seconds):
        done = await check()
        while not done:
            await asyncio.sleep(0.02)
            done = await check()


class Running:
    """An engine running in a task until ``stop()``."""

    def __init__(self, engine: Engine, ari: AriClient) -> None:
        self.engine = engine
        self.ari = ari
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(engine.run(self.stopping))

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.wait_for(self.task, 30)
        await self.ari.close()


def start(
    settings: Settings, pool: asyncpg.Pool, clock: Clock, **parts: object
) -> Running:
    """Build and run an engine."""
    ari = AriClient.from_settings(settings)
    parts.setdefault("gates", ())  # these tests are about the dialer itself
    engine = build_engine(settings, pool, ari, clock, **parts)  # type: ignore[arg-type]

    return Running(engine, ari)


def now_clock() -> FakeClock:
    """A fake clock set to the real time, so SQL now() and it agree."""
    return FakeClock(datetime.now(UTC))


class Hold:
    """An answer handler that keeps the customer on the line until they hang up."""

    async def on_answered(self, call: Call) -> None:
        await call.ended.wait()


class RefuseAtOriginate:
    """A gate that lets contacts be leased and refuses right before dialling."""

    def __init__(self, retry_in: timedelta | None) -> None:
        self.retry_in = retry_in
        self.stages: list[Stage] = []

    async def check(
        self,
        conn: asyncpg.Connection,
        campaign: Campaign,
        contact: Contact,
        now: datetime,
        stage: Stage,
    ) -> GateDecision:
        self.stages.append(stage)
        if stage == "lease":
            return GateDecision.allow()
        retry_at = None if self.retry_in is None else now + self.retry_in

        return GateDecision(False, "test says no", retry_at, final=retry_at is None)


async def test_gate_refusal_at_originate_cancels_attempt_never_dialled(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    await campaign_with(pool, ["+8613800000001", "+8613800000002"])
    gate = RefuseAtOriginate(retry_in=timedelta(hours=1))
    clock = now_clock()
    running = start(settings, pool, clock, gates=[gate])

    async def both_refused() -> bool:
        return (
            await pool.fetchval(
                "SELECT count(*) FROM call_attempts WHERE outcome = 'cancelled'"
            )
            == 2
        )

    try:
        await eventually(both_refused)
    finally:
        await running.stop()

    contacts = await pool.fetch("SELECT * FROM contacts")
    attempts = await pool.fetch("SELECT * FROM call_attempts")
    assert sim.originations == []
    assert {a["hangup_cause_txt"] for a in attempts} == {"test says no"}
    assert all(a["originated_at"] is None for a in attempts)
    assert {(c["state"], c["state_reason"], c["attempts"]) for c in contacts} == {
        ("pending", "test says no", 0)
    }
    assert all(
        c["next_attempt_at"] == clock.now() + timedelta(hours=1) for c in contacts
    )
    assert gate.stages.count("originate") == 2


async def test_final_gate_refusal_closes_contact(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    await campaign_with(pool, ["+8613800000003"])
    running = start(settings, pool, now_clock(), gates=[RefuseAtOriginate(None)])

    async def closed() -> bool:
        return await pool.fetchval("SELECT state FROM contacts") == "cancelled"

    try:
        await eventually(closed)
    finally:
        await running.stop()

    assert sim.originations == []


async def test_recording_fetch_failure_retried_until_archived(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    sim.parties.set("8613800000004", Behaviour.answer(after=1, hangup_after=60))
    sim.faults.fail_rest(r"/recordings/stored/[^/]+/file$", status=500, times=2)
    await campaign_with(pool, ["+8613800000004"])
    clock = now_clock()
    running = start(settings, pool, clock)

    async def state() -> tuple[str, int]:
        row = await pool.fetchrow("SELECT state, fetch_attempts FROM recordings")
        return (row["state"], row["fetch_attempts"]) if row else ("", 0)

    async def failed_once() -> bool:
        return (await state())[1] >= 1

    async def archived() -> bool:
        clock.advance(timedelta(seconds=30))
        running.engine.archiver.wake.set()
        return (await state())[0] == "archived"

    try:
        await eventually(failed_once)
        first = await state()
        await eventually(archived)
    finally:
        await running.stop()

    row = await pool.fetchrow("SELECT * FROM recordings")
    assert first == ("finished", 1)
    assert row["fetch_attempts"] == 3
    size = (await asyncio.to_thread(Path(row["archive_path"]).stat)).st_size
    assert size == row["size_bytes"]
    assert row["duration_s"] > 0


async def test_websocket_drop_mid_call_call_still_closed(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    sim.parties.set("86138000001*", Behaviour.answer(after=1, hangup_after=100))
    await campaign_with(pool, [f"+86138000001{i}" for i in range(3)])
    running = start(settings, pool, now_clock(), answer_handler=Hold())

    async def answered() -> bool:
        return (
            await pool.fetchval(
                "SELECT count(*) FROM call_attempts WHERE state = 'answered'"
            )
            == 3
        )

    async def all_ended() -> bool:
        return (
            await pool.fetchval(
                "SELECT count(*) FROM call_attempts WHERE state = 'ended'"
            )
            == 3
        )

    try:
        await eventually(answered)
        sim.faults.drop_websockets()
        await eventually(all_ended)
    finally:
        await running.stop()

    outcomes = await pool.fetch("SELECT outcome FROM call_attempts")
    assert {r["outcome"] for r in outcomes} == {"answered"}
    assert (
        await pool.fetchval("SELECT count(*) FROM recordings WHERE state = 'archived'")
        == 3
    )


async def test_pacing_never_exceeds_concurrency_or_rate(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    sim.parties.set("86137*", Behaviour.answer(after=2, hangup_after=60))
    phones = [f"+8613700000{i:03d}" for i in range(24)]
    await campaign_with(pool, phones, max_concurrent=4, calls_per_second=20)
    running = start(settings, pool, SystemClock())  # originated_at must move

    async def done() -> bool:
        return await pool.fetchval(
            "SELECT count(*) FROM contacts WHERE state = 'done'"
        ) == len(phones)

    try:
        await eventually(done, 40)
    finally:
        await running.stop()

    rows = await pool.fetch(
        "SELECT originated_at, ended_at FROM call_attempts ORDER BY originated_at"
    )
    edges = sorted(
        [(r["originated_at"], 1) for r in rows] + [(r["ended_at"], -1) for r in rows],
        key=lambda e: (e[0], e[1]),
    )
    in_progress = list(itertools.accumulate(step for _, step in edges))
    gaps = [
        b["originated_at"] - a["originated_at"] for a, b in itertools.pairwise(rows)
    ]
    assert max(in_progress) <= 4
    assert min(gaps) >= timedelta(seconds=1 / 20 * 0.9)


async def test_call_ended_one_summary_line_per_call_number_masked(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    sim.parties.set("8613600000001", Behaviour.busy())
    sim.parties.set("8613600000002", Behaviour.answer(after=1, hangup_after=60))
    await campaign_with(pool, ["+8613600000001", "+8613600000002"], retry_delays={})

    with structlog.testing.capture_logs() as logs:
        running = start(settings, pool, SystemClock())
        try:
            await eventually(lambda: _contacts_closed(pool, 2))
        finally:
            await running.stop()

    ended = [e for e in logs if e["event"] == "call_ended"]
    assert sorted(e["outcome"] for e in ended) == ["answered", "busy"]
    assert {e["log_level"] for e in ended} == {"info"}
    assert {e["number"] for e in ended} == {"+861******0001", "+861******0002"}
    assert all(e["duration_ms"] >= 0 and e["campaign_id"] for e in ended)


async def _contacts_closed(pool: asyncpg.Pool, count: int) -> bool:
    closed = await pool.fetchval("SELECT count(*) FROM contacts WHERE state = 'done'")
    return closed == count


async def test_dead_engine_call_taken_over_and_finished(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    """An engine whose leases lapsed left a ringing call: another one adopts it."""
    sim.parties.set("8613500000001", Behaviour.answer(after=60, hangup_after=300))
    campaign_id = await campaign_with(pool, ["+8613500000001"], retry_delays={})
    contact_id = await pool.fetchval("SELECT id FROM contacts")
    attempt_id = "5b0f3c9e-7d1a-4c11-9d7e-1b2f3a4c5d6e"
    await pool.execute(
        "UPDATE contacts SET state = 'leased', lease_owner = 'dead',"
        " lease_expires_at = now() - interval '1 minute', attempts = 1"
    )
    await pool.execute(
        "INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,"
        " caller_id, dial_string, engine_id, lease_expires_at, state, originated_at)"
        " VALUES ($1, $2, $3, 1, '+8613500000001', '95555', 'PJSIP/x', 'dead',"
        " now() - interval '1 minute', 'originating', now())",
        attempt_id,
        campaign_id,
        contact_id,
    )
    dead = AriClient.from_settings(settings)
    try:
        await dead.originate(
            "PJSIP/8613500000001@trunk",
            channel_id=attempt_id,
            app_args=("customer", attempt_id),
            timeout=120,
        )
    finally:
        await dead.close()
    running = start(settings, pool, SystemClock())

    async def archived() -> bool:
        state = await pool.fetchval("SELECT state FROM recordings")
        return state == "archived"

    try:
        await eventually(archived)
    finally:
        await running.stop()

    attempt = await pool.fetchrow("SELECT * FROM call_attempts")
    contact = await pool.fetchrow("SELECT * FROM contacts")
    assert (attempt["engine_id"], attempt["state"], attempt["outcome"]) == (
        "it-engine",
        "ended",
        "answered",
    )
    assert (contact["state"], contact["attempts"]) == ("done", 1)
    assert len(sim.originations) == 1


async def test_engine_stop_while_asterisk_unreachable_returns(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    unreachable = settings.model_copy(update={"ari_url": "http://127.0.0.1:9"})
    ari = AriClient.from_settings(unreachable)
    engine = build_engine(unreachable, pool, ari, SystemClock(), gates=())
    stop = asyncio.Event()
    stop.set()

    try:
        await asyncio.wait_for(engine.run(stop), 10)
    finally:
        await ari.close()

    assert not engine.recovery.synced.is_set()
    assert await pool.fetchval("SELECT count(*) FROM call_attempts") == 0


async def test_answered_call_of_previous_process_adopted_not_hung_up(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    """After a restart under a new engine id, before the old leases lapse."""
    sim.parties.set("8613500000002", Behaviour.answer(after=150, hangup_after=300))
    campaign_id = await campaign_with(pool, ["+8613500000002"], retry_delays={})
    contact_id = await pool.fetchval("SELECT id FROM contacts")
    attempt_id = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
    await pool.execute(
        "UPDATE contacts SET state = 'leased', lease_owner = 'previous',"
        " lease_expires_at = now() + interval '1 hour', attempts = 1"
    )
    await pool.execute(
        "INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,"
        " caller_id, dial_string, engine_id, lease_expires_at, state, originated_at)"
        " VALUES ($1, $2, $3, 1, '+8613500000002', '95555', 'PJSIP/x', 'previous',"
        " now() + interval '1 hour', 'originating', now())",
        attempt_id,
        campaign_id,
        contact_id,
    )
    previous = AriClient.from_settings(settings)
    try:
        await previous.originate(
            "PJSIP/8613500000002@trunk",
            channel_id=attempt_id,
            app_args=("customer", attempt_id),
            timeout=300,
        )
    finally:
        await previous.close()
    running = start(settings, pool, SystemClock())

    async def archived() -> bool:
        return await pool.fetchval("SELECT state FROM recordings") == "archived"

    try:
        await eventually(archived)
    finally:
        await running.stop()

    attempt = await pool.fetchrow("SELECT * FROM call_attempts")
    assert (attempt["engine_id"], attempt["outcome"]) == ("it-engine", "answered")
    assert attempt["answered_at"] is not None
    assert await pool.fetchval("SELECT state FROM contacts") == "done"
