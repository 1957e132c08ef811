"""
A restarted engine adopting a call its dead predecessor had half answered.

The engine is killed between creating the call's bridge and starting its
recording (the window a SIGKILL mid-campaign can hit): the bridge, with the
customer in it, outlives the process, and the next engine must record the
call in it rather than hang the customer up.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from engine.ari import AriClient, Event
from engine.clock import SystemClock
from engine.dialer.engine import build_engine
from engine.dialer.services import bridge_id_for
from engine.settings import Settings
from engine.sim import Behaviour, Simulator

PHONE = "+8613500000009"
ATTEMPT_ID = "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A simulator where a simulated minute lasts 0.6 s."""
    simulator = Simulator(time_scale=0.01, seed=5)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def settings(sim: Simulator, db_dsn: str, tmp_path: Path) -> Settings:
    """Engine settings on the simulator and the test database."""
    return Settings(
        database_url=db_dsn,
        ari_url=sim.url,
        engine_id="adopting-engine",
        lease_seconds=10,
        recordings_dir=tmp_path / "recordings",
        drain_seconds=10,
    )


async def _attempt_of_dead_engine(pool: asyncpg.Pool) -> None:
    campaign_id = await pool.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id, state, retry_delays)"
        " VALUES ('adopt', 'survey', '95555', 'running', '{}') RETURNING id"
    )
    contact_id = await pool.fetchval(
        "INSERT INTO contacts (campaign_id, phone, state, lease_owner,"
        " lease_expires_at, attempts) VALUES ($1, $2, 'leased', 'adopting-engine',"
        " now() + interval '1 minute', 1) RETURNING id",
        campaign_id,
        PHONE,
    )
    await pool.execute(
        "INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,"
        " caller_id, dial_string, engine_id, lease_expires_at, state, originated_at)"
        " VALUES ($1, $2, $3, 1, $4, '95555', 'PJSIP/x', 'adopting-engine',"
        " now() + interval '1 minute', 'originating', now())",
        ATTEMPT_ID,
        campaign_id,
        contact_id,
        PHONE,
    )


async def _die_after_bridging(settings: Settings) -> None:
    """What the dead engine did: originate, and bridge the answered customer."""
    dead = AriClient.from_settings(settings)
    answered = asyncio.Event()

    async def on_start(event: Event) -> None:
        if event.channel_id == ATTEMPT_ID:
            answered.set()

    dead.on("StasisStart", on_start)
    try:
        await dead.connect()
        await asyncio.wait_for(dead.connected.wait(), 10)
        await dead.originate(
            f"PJSIP/{PHONE.lstrip('+')}@trunk",
            channel_id=ATTEMPT_ID,
            app_args=("customer", ATTEMPT_ID),
            timeout=60,
        )
        await asyncio.wait_for(answered.wait(), 10)
        await dead.create_bridge(bridge_id_for(ATTEMPT_ID), type="mixing")
        await dead.add_channel(bridge_id_for(ATTEMPT_ID), ATTEMPT_ID)
    finally:
        await dead.close()


async def test_adopted_call_left_bridged_unrecorded_is_recorded_not_dropped(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    sim.parties.set(PHONE.lstrip("+"), Behaviour.answer(after=1, hangup_after=200))
    await _attempt_of_dead_engine(pool)
    await _die_after_bridging(settings)
    ari = AriClient.from_settings(settings)
    engine = build_engine(settings, pool, ari, SystemClock(), gates=())

    try:
        await asyncio.wait_for(engine.run(asyncio.Event(), until_idle=True), 60)
    finally:
        await ari.close()

    attempt = await pool.fetchrow("SELECT * FROM call_attempts")
    recordings = await pool.fetch("SELECT state FROM recordings")
    assert (attempt["state"], attempt["outcome"]) == ("ended", "answered")
    assert [r["state"] for r in recordings] == ["archived"]
    assert len(sim.originations) == 1
