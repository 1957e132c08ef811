"""
Promised callbacks through the real dialer and simulator on a fake clock: a
callback is still checked against the do-not-call list and the window.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from engine.ari import AriClient
from engine.clock import FakeClock
from engine.compliance import callbacks, callerids, dnc
from engine.compliance.gate import ComplianceGate
from engine.dialer.engine import Engine, build_engine
from engine.settings import Settings
from engine.sim import Behaviour, Simulator

CALLER_ID = "95555"
PHONE = "+8613800138000"
# Wednesday 2026-06-10 10:00 and 22:00 in Shanghai (collections: 09:00-21:00).
MORNING = datetime(2026, 6, 10, 2, tzinfo=UTC)
NIGHT = datetime(2026, 6, 10, 14, tzinfo=UTC)


@dataclass
class Rig:
    """The engine running against the simulator, and its clock."""

    pool: asyncpg.Pool
    sim: Simulator
    clock: FakeClock
    engine: Engine

    async def settle(self) -> None:
        """Wait until nothing is due, leased or in progress at the clock's now."""
        for _ in range(400):
            self.engine.pacer.changed.set()
            busy = await self.pool.fetchval(
                "SELECT (SELECT count(*) FROM contacts WHERE state = 'leased'"
                "   OR (state = 'pending' AND next_attempt_at <= $1))"
                " + (SELECT count(*) FROM call_attempts WHERE state <> 'ended')",
                self.clock.now(),
            )
            if busy == 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"engine did not settle at {self.clock.now()}")

    def placed(self) -> list[datetime]:
        """Simulated instants of the calls placed to PHONE."""
        return [
            o.at
            for o in self.sim.originations
            if o.status == 200 and o.number == PHONE.lstrip("+")
        ]


@pytest.fixture
async def rig(pool: asyncpg.Pool, db_dsn: str, tmp_path: Path) -> AsyncIterator[Rig]:
    async with Simulator(
        username="outdial", password="outdial", time_scale=0.01, seed=1
    ) as sim:
        sim.parties.set(
            PHONE.lstrip("+"), Behaviour.answer(after=1.0, hangup_after=5.0)
        )
        settings = Settings(
            database_url=db_dsn,
            ari_url=sim.url,
            ari_app="outdial",
            engine_id=f"cb-{uuid.uuid4().hex[:6]}",
            recordings_dir=tmp_path / "recordings",
            dial_template="PJSIP/{number}@trunk",
            answer_media="sound:hello-world",
            min_call_gap_s=0,
        )
        clock = FakeClock(MORNING - timedelta(days=1))
        ari = AriClient.from_settings(settings)
        engine = build_engine(
            settings, pool, ari, clock, gates=[ComplianceGate(settings)]
        )
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        try:
            yield Rig(pool, sim, clock, engine)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 30)
            await ari.close()


async def _contact(pool: asyncpg.Pool, next_attempt_at: datetime) -> int:
    # One transaction: a running campaign seen with no contact yet is one the
    # engine rightly finishes at once.
    async with pool.acquire() as conn, conn.transaction():
        await callerids.approve(conn, CALLER_ID, label="", actor="t")
        campaign_id = await conn.fetchval(
            "INSERT INTO campaigns (name, kind, caller_id, state) VALUES"
            " ('cb', 'collections', $1, 'running') RETURNING id",
            CALLER_ID,
        )
        contact_id: int = await conn.fetchval(
            "INSERT INTO contacts (campaign_id, phone, next_attempt_at)"
            " VALUES ($1, $2, $3) RETURNING id",
            campaign_id,
            PHONE,
            next_attempt_at,
        )

    return contact_id


async def test_callback_to_number_suppressed_after_promise_not_dialled(
    rig: Rig,
) -> None:
    """
    The callback is promised during the call (contact leased, so the entry
    added then cannot mark it); when it falls due the gate refuses it.
    """
    contact_id = await _contact(rig.pool, MORNING + timedelta(days=30))
    await rig.pool.execute("UPDATE contacts SET state = 'leased'")
    async with rig.pool.acquire() as conn:
        await callbacks.schedule_callback(
            conn, contact_id, MORNING, actor="op1", operator="op1"
        )
        await dnc.add_entry(
            conn,
            PHONE,
            scope="all",
            source="customer_refusal",
            reason="asked not to be called",
            actor="op1",
            now=MORNING - timedelta(hours=1),
        )
    # The call ends: the dialer closes the contact, which requeues the callback.
    await rig.pool.execute("UPDATE contacts SET state = 'done'")

    rig.clock.set(MORNING)
    await rig.settle()

    contact = await rig.pool.fetchrow(
        "SELECT state, state_reason FROM contacts WHERE id = $1", contact_id
    )
    refused = await rig.pool.fetchval(
        "SELECT details->'rules' FROM audit_log WHERE action = 'dial_refused'"
    )
    assert rig.placed() == []
    assert contact["state"] == "suppressed"
    assert contact["state_reason"].startswith("dnc: on the do-not-call list")
    assert refused == ["dnc"]
    assert await rig.pool.fetchval("SELECT state FROM callbacks") == "cancelled"


async def test_callback_due_at_night_dialled_at_next_opening(rig: Rig) -> None:
    contact_id = await _contact(rig.pool, MORNING + timedelta(days=30))
    async with rig.pool.acquire() as conn:
        await callbacks.schedule_callback(conn, contact_id, NIGHT, actor="op1")

    rig.clock.set(NIGHT)
    await rig.settle()
    at_night = rig.placed()
    opening = await rig.pool.fetchval(
        "SELECT next_attempt_at FROM contacts WHERE id = $1", contact_id
    )
    rig.clock.set(opening)
    await rig.settle()

    assert at_night == []
    assert opening == datetime(2026, 6, 11, 1, tzinfo=UTC)  # 09:00 in Shanghai
    assert len(rig.placed()) == 1
    assert await rig.pool.fetchval("SELECT originated_at FROM call_attempts") == opening
    assert await rig.pool.fetchval("SELECT state FROM callbacks") == "done"
