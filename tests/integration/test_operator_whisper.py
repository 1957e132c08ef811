"""
Whisper end to end: ``outdial supervise whisper`` on a live operator call.

The engine (as ``outdial run`` builds it) carries a call bridged to an
operator; a director runs the real command in another process. The engine
dials the director's softphone and snoops the operator's leg with
``spy=both, whisper=out`` (trace 06): the director hears both parties and
speaks to the operator only, from a bridge of their own that the customer is
not in. The session is logged (row and audit) like a listen-in.
"""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from operator_helpers import (
    PASSWORD,
    call_archived,
    dialling,
    engine_settings,
    eventually,
    log_in,
    make_campaign,
    operator_bridged,
    running,
    wait_call,
)

from engine.settings import Settings
from engine.sim import Behaviour, Simulator
from engine.sim.pbx import Snoop


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A simulator where a simulated minute lasts 0.6 s."""
    async with Simulator(
        username="outdial", password="outdial", time_scale=0.01, seed=13
    ) as simulator:
        yield simulator


@pytest.fixture
def settings(sim: Simulator, db_dsn: str, tmp_path: Path) -> Settings:
    """The engine on the simulator."""
    return engine_settings(sim, db_dsn, tmp_path)


async def whisper_command(db_dsn: str, call_id: str) -> asyncio.subprocess.Process:
    """``outdial supervise whisper CALL --as chief`` in its own process."""
    outdial = str(Path(sys.executable).with_name("outdial"))
    env = os.environ | {"OUTDIAL_DATABASE_URL": db_dsn, "OUTDIAL_LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        *(outdial, "supervise", "whisper", call_id, "--as", "chief"),
        "--password-stdin",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None
    process.stdin.write(f"{PASSWORD}\n".encode())
    await process.stdin.drain()
    process.stdin.close()

    return process


async def read_until(process: asyncio.subprocess.Process, mark: bytes) -> bytes:
    """The command's output up to and including the line that has ``mark``."""
    assert process.stdout is not None
    seen = b""
    async with asyncio.timeout(30):
        while mark not in seen:
            line = await process.stdout.readline()
            assert line, f"command ended before {mark!r}: {seen!r}"
            seen += line

    return seen


async def test_whisper_cli_snoops_operator_leg_whisper_out_and_is_logged(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool, db_dsn: str
) -> None:
    # the customer stays on until the operator ends the call
    sim.parties.set("8613600000*", Behaviour.answer(after=1.0))
    await make_campaign(pool, "+8613600000001", {"operators": {"ratio": 1.0}})

    async with running(settings, pool) as (engine, service):
        operator = await log_in(service, sim, "mei", "6401")
        await log_in(service, sim, "chief", "7401", role="director")
        async with dialling(engine):
            call_id = await wait_call(service, operator)
            await eventually(lambda: operator_bridged(sim, pool, call_id))
            command = await whisper_command(db_dsn, call_id)

            async def joined() -> bool:
                return bool(
                    await pool.fetchval(
                        "SELECT count(*) FROM supervision_sessions"
                        " WHERE supervisor_channel_id IS NOT NULL"
                    )
                )

            await eventually(joined, limit_s=30)
            sup = await pool.fetchrow("SELECT * FROM supervision_sessions")
            # where each leg is while the director whispers
            bridges = {
                who: sim.channels[channel_id].bridge_id
                for who, channel_id in (
                    ("director", sup["supervisor_channel_id"]),
                    ("snoop", sup["snoop_channel_id"]),
                    ("customer", call_id),
                )
            }
            shown = await read_until(command, b": joined")
            sim.softphones.hangup("7401")  # the director leaves
            rest, _ = await asyncio.wait_for(command.communicate(), 30)
            await service.hang_up(operator, call_id)
            await eventually(lambda: call_archived(pool), limit_s=30)
        await service.end_session(operator)

    operator_leg = await pool.fetchval("SELECT channel_id FROM operator_sessions")
    assert sim.snoops == [
        Snoop(
            sup["snoop_channel_id"],
            operator_leg,
            "both",
            "out",
            ["snoop", str(sup["id"])],
        )
    ]
    # the director and the snoop share a bridge the customer is not in
    assert bridges["director"] == bridges["snoop"] == f"supervision-{sup['id']}"
    assert bridges["customer"] not in (None, bridges["director"])
    assert command.returncode == 0
    text = (shown + rest).decode()
    assert f"supervision {sup['id']}: joined" in text
    assert f"supervision {sup['id']} ended: supervisor_left" in text
    row = await pool.fetchrow(
        "SELECT supervisor_id, call_id, operator_id, mode, ended_at, end_reason"
        " FROM supervision_sessions"
    )
    assert (row["supervisor_id"], row["call_id"], row["operator_id"]) == (
        "chief",
        call_id,
        "mei",
    )
    assert (row["mode"], row["end_reason"]) == ("whisper", "supervisor_left")
    assert row["ended_at"] is not None
    logged = await pool.fetch(
        "SELECT action, details FROM audit_log WHERE actor = 'chief'"
        " AND object_id = $1 ORDER BY id",
        call_id,
    )
    assert [r["action"] for r in logged] == ["supervision_started", "supervision_ended"]
    assert logged[0]["details"]["mode"] == "whisper"
    assert [o.channel_id for o in sim.originations if o.endpoint == "PJSIP/7401"] == [
        sup["supervisor_channel_id"]
    ]
