"""
Operators end to end: softphones, bridging, dispositions, supervision and pauses.

The real engine (``build_engine`` with the operators attached, as ``outdial
run`` does) runs against the simulator and the real PostgreSQL. Simulated
operators log in through ``OperatorService``, their softphones are the
simulator's ``PJSIP/<ext>`` endpoints, and a small loop plays each operator:
it verifies the customer and enters a disposition for every call it gets.
"""

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from argon2 import PasswordHasher

from engine.ari import AriClient
from engine.clock import SystemClock
from engine.dialer.engine import Engine, build_engine
from engine.operators.accounts import Account, AccountStore
from engine.operators.dispositions import DispositionForm
from engine.operators.service import OperatorService
from engine.operators.sessions import SessionState
from engine.operators.wiring import Operators, build_operators
from engine.settings import Settings
from engine.sim import Behaviour, Simulator

PASSWORD = "shift password 2026"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Stack:
    """The engine with operators, on the simulator."""

    engine: Engine
    operators: Operators
    service: OperatorService
    pool: asyncpg.Pool


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A simulator where a simulated minute lasts 0.6 s."""
    async with Simulator(
        username="outdial", password="outdial", time_scale=0.01, seed=5
    ) as simulator:
        yield simulator


@pytest.fixture
def op_settings(sim: Simulator, db_dsn: str, tmp_path: Path) -> Settings:
    """The engine on the simulator; short wrap-up (the simulator runs 100x faster)."""
    return Settings(
        database_url=db_dsn,
        ari_url=sim.url,
        ari_app="outdial",
        engine_id=f"ops-{uuid.uuid4().hex[:6]}",
        lease_seconds=10,
        recordings_dir=tmp_path / "recordings",
        drain_seconds=20,
        dial_template="PJSIP/{number}@trunk",
        operator_answer_timeout_s=2.0,
        operator_wrap_up_s=0.05,
        apology_media="sound:outdial-apology",
    )


@contextlib.asynccontextmanager
async def running_stack(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Stack]:
    """Build the engine and the operators as ``outdial run`` does, and start them."""
    ari = AriClient.from_settings(settings)
    clock = SystemClock()
    engine = build_engine(settings, pool, ari, clock, gates=())
    operators = build_operators(settings, pool, ari, clock)
    operators.service.accounts = AccountStore(pool, clock, hasher=FAST_HASHER)
    operators.attach(engine)
    try:
        async with operators.running():
            await engine.start()
            try:
                yield Stack(engine, operators, operators.service, pool)
            finally:
                await engine.service.drain()
    finally:
        await ari.close()


async def run_until_idle(stack: Stack, limit_s: float = 40) -> None:
    """Dial until no campaign runs and no call or recording is left."""
    tasks = [
        asyncio.create_task(stack.engine.controller.run()),
        asyncio.create_task(stack.engine.archiver.run()),
    ]
    try:
        async with asyncio.timeout(limit_s):
            # Postgres state has no event to wait on: poll it
            while not await stack.engine.is_idle():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def eventually(check: Callable[[], Awaitable[bool]], limit_s: float = 10) -> None:
    """Wait until ``check()`` is true (it reads Postgres, which cannot notify us)."""
    async with asyncio.timeout(limit_s):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def log_in(
    stack: Stack, sim: Simulator, operator_id: str, ext: str, role: str = "operator"
) -> Account:
    """Create an account, change its first password, register its phone, log in."""
    accounts = stack.service.accounts
    await accounts.create(
        operator_id,
        operator_id.title(),
        role,
        "first password 1",
        endpoint=f"PJSIP/{ext}",
    )
    await accounts.change_password(operator_id, "first password 1", PASSWORD)
    sim.softphones.register(ext, answer_after=0.5)
    account = await stack.service.authenticate(operator_id, PASSWORD)
    if role == "operator":
        await stack.service.start_session(account)

        async def ready() -> bool:
            session = await stack.service.session(account)
            return session is not None and session.state is SessionState.READY

        await eventually(ready)

    return account


async def play_operator(
    service: OperatorService, account: Account, choose: Callable[[str], DispositionForm]
) -> None:
    """A simulated operator: verify each customer, dispose of each call."""
    done: set[str] = set()
    while True:
        call = await service.current_call(account)
        if call is not None and call.call_id not in done:
            await service.verify_identity(account, call.call_id)
            await service.dispose(account, choose(call.call_id))
            done.add(call.call_id)
        await asyncio.sleep(0.01)


async def test_operators_shift_every_answer_bridged_and_disposed(
    sim: Simulator, op_settings: Settings, pool: asyncpg.Pool
) -> None:
    answer = [f"+8613900000{i:03d}" for i in range(12)]
    sim.parties.set("8613900000*", Behaviour.answer(after=2.0, hangup_after=100.0))
    refuser = answer[3]
    campaign_id = await make_campaign(
        pool, answer, kind="collections", settings={"operators": {"ratio": 1.0}}
    )

    async with running_stack(op_settings, pool) as stack:
        accounts = [await log_in(stack, sim, f"op{n}", f"60{n:02d}") for n in range(3)]
        phones: dict[str, str] = {}

        def choose(call_id: str) -> DispositionForm:
            refused = phones.get(call_id) == refuser
            return DispositionForm(call_id, "refused" if refused else "promise_to_pay")

        async def note_phones() -> None:
            while True:
                rows = await pool.fetch("SELECT id, phone FROM call_attempts")
                phones.update({r["id"]: r["phone"] for r in rows})
                await asyncio.sleep(0.01)

        players = [asyncio.create_task(note_phones())] + [
            asyncio.create_task(play_operator(stack.service, a, choose))
            for a in accounts
        ]
        try:
            await run_until_idle(stack)
            await eventually(
                lambda: _count(pool, "SELECT count(*) FROM dispositions", len(answer))
            )
        finally:
            for task in players:
                task.cancel()
        # the operator side of the last calls may trail the dialer's end by a
        # moment: wait until nobody is still on a call, then log out
        await eventually(lambda: _count(pool, _ON_CALL, 0))
        for account in accounts:
            await stack.service.end_session(account)

    attempts = await pool.fetch("SELECT id, outcome FROM call_attempts")
    assert sorted(a["outcome"] for a in attempts) == ["answered"] * len(answer)
    bridged = await pool.fetch("SELECT * FROM operator_calls ORDER BY bridged_at")
    assert len(bridged) == len(answer)
    assert max(b["wait_ms"] for b in bridged) < 2000
    _assert_one_call_at_a_time(bridged)
    assert {b["operator_id"] for b in bridged} == {"op0", "op1", "op2"}
    dnc = await pool.fetch("SELECT phone, scope FROM dnc_entries")
    assert [(r["phone"], r["scope"]) for r in dnc] == [(refuser, "collections")]
    await assert_recorded(pool)
    # the operator joined the bridge being recorded, which ran on to the
    # hang-up: about the 100 simulated seconds the customer talked (the
    # recording starts a few wall milliseconds, i.e. simulated seconds at
    # this time scale, after the answer)
    recorded = await pool.fetch(
        "SELECT oc.bridge_id = a.bridge_id AS same_bridge, r.duration_s"
        " FROM operator_calls oc JOIN call_attempts a ON a.id = oc.call_id"
        " JOIN recordings r ON r.attempt_id = oc.call_id"
    )
    assert len(recorded) == len(answer)
    assert all(r["same_bridge"] for r in recorded)
    assert min(r["duration_s"] for r in recorded) >= 80
    sessions = await pool.fetch("SELECT state, end_reason FROM operator_sessions")
    assert {(s["state"], s["end_reason"]) for s in sessions} == {
        ("logged_out", "logout")
    }
    audit = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action IN ('operator_login', 'operator_logout')"
    )
    assert audit == 6
    assert campaign_id


def _assert_one_call_at_a_time(bridged: list[asyncpg.Record]) -> None:
    by_operator: dict[str, list[asyncpg.Record]] = {}
    for row in bridged:
        by_operator.setdefault(row["operator_id"], []).append(row)
    for rows in by_operator.values():
        for earlier, later in itertools.pairwise(rows):
            assert earlier["ended_at"] is not None
            assert earlier["ended_at"] <= later["bridged_at"]


async def make_campaign(pool: asyncpg.Pool, phones: list[str], **fields: Any) -> int:
    """A running campaign with these contacts."""
    columns: dict[str, Any] = {
        "name": f"ops-{uuid.uuid4().hex[:8]}",
        "kind": "collections",
        "caller_id": "95555",
        "state": "running",
        "max_concurrent": 20,
        "calls_per_second": 50,
    } | fields
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    campaign_id: int = await pool.fetchval(
        f"INSERT INTO campaigns ({', '.join(columns)}) VALUES ({marks}) RETURNING id",
        *columns.values(),
    )
    await pool.executemany(
        "INSERT INTO contacts (campaign_id, phone) VALUES ($1, $2)",
        [(campaign_id, p) for p in phones],
    )

    return campaign_id


async def assert_recorded(pool: asyncpg.Pool) -> None:
    """Every answered or abandoned call has one archived recording."""
    rows = await pool.fetch(
        "SELECT a.id, r.state FROM call_attempts a"
        " LEFT JOIN recordings r ON r.attempt_id = a.id"
        " WHERE a.outcome IN ('answered', 'abandoned')"
    )
    assert rows
    assert {r["state"] for r in rows} == {"archived"}


async def _count(pool: asyncpg.Pool, sql: str, expected: int) -> bool:
    return await pool.fetchval(sql) == expected


async def test_operators_abandon_listen_in_complaints_and_drop(
    sim: Simulator, op_settings: Settings, pool: asyncpg.Pool
) -> None:
    """One operator, three customers at once: two abandoned; then supervision."""
    sim.sounds["outdial-apology"] = 4.0
    # customers who would stay 30 s (wall clock): only a hang-up ends them sooner
    sim.parties.set("861370000*", Behaviour.answer(after=1.0, hangup_after=3000.0))
    phones = [f"+86137000000{i}" for i in range(3)]
    campaign_id = await make_campaign(
        pool,
        phones,
        settings={"operators": {"ratio": 3, "complaints": {"max": 1, "window_min": 5}}},
    )
    settings = op_settings.model_copy(update={"operator_answer_timeout_s": 0.3})

    async with running_stack(settings, pool) as stack:
        operator = await log_in(stack, sim, "solo", "6101")
        director = await log_in(stack, sim, "chief", "7101", role="director")
        dialling = asyncio.create_task(run_until_idle(stack))
        await eventually(lambda: _count(pool, _ABANDONED, 2))
        call = await stack.service.current_call(operator)
        assert call is not None

        listen_id = await stack.service.supervise(director, call.call_id, "listen")
        await eventually(lambda: _count(pool, _JOINED, 1))
        board = await stack.service.board(director)
        await stack.service.end_supervision(director, listen_id)

        async def director_hung_up() -> bool:
            return f"sup-{listen_id}" not in sim.channels

        await eventually(director_hung_up)
        barge_id = await stack.service.supervise(director, call.call_id, "barge")
        await eventually(lambda: _count(pool, _JOINED, 2))
        call_bridge = await stack.engine.ari.get_bridge(f"bridge-{call.call_id}")
        await stack.service.end_supervision(director, barge_id)
        reason = await stack.service.dispose(
            operator, DispositionForm(call.call_id, "complaint", notes="rude")
        )
        # the desktop runs in another process: no manager, a NOTIFY does it
        desktop = OperatorService(pool, SystemClock(), stack.service.accounts)
        await desktop.hang_up(operator, call.call_id)
        await eventually(lambda: _count(pool, _OPEN, 0))
        sim.softphones.hangup("6101")
        await eventually(lambda: _count(pool, _LOGGED_OUT, 1))
        await dialling

    assert reason is not None
    state = await pool.fetchrow("SELECT state, state_reason FROM campaigns")
    assert state["state"] == "paused"
    assert "complaints" in state["state_reason"]
    outcomes = await pool.fetch(
        "SELECT outcome, count(*) FROM call_attempts GROUP BY 1"
    )
    assert {r["outcome"]: r["count"] for r in outcomes} == {
        "abandoned": 2,
        "answered": 1,
    }
    assert [c.abandoned for c in board.campaigns] == [2]
    assert [o.state for o in board.operators] == ["on_call"]
    sups = await pool.fetch("SELECT * FROM supervision_sessions ORDER BY id")
    assert [(r["supervisor_id"], r["call_id"], r["mode"]) for r in sups] == [
        ("chief", call.call_id, "listen"),
        ("chief", call.call_id, "barge"),
    ]
    assert all(r["ended_at"] is not None for r in sups)
    assert f"sup-{barge_id}" in call_bridge.channels
    logged = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'supervision_started'"
        " AND actor = 'chief' AND object_id = $1",
        call.call_id,
    )
    assert logged == 2
    session = await pool.fetchrow("SELECT state, end_reason FROM operator_sessions")
    assert dict(session) == {"state": "logged_out", "end_reason": "softphone_dropped"}
    director_legs = [o for o in sim.originations if o.endpoint == "PJSIP/7101"]
    assert [o.channel_id for o in director_legs] == ["sup-1", "sup-2"]
    assert campaign_id


_ABANDONED = "SELECT count(*) FROM call_attempts WHERE outcome = 'abandoned'"
_OPEN = "SELECT count(*) FROM call_attempts WHERE state <> 'ended'"
_ON_CALL = "SELECT count(*) FROM operator_sessions WHERE state = 'on_call'"
_LOGGED_OUT = "SELECT count(*) FROM operator_sessions WHERE state = 'logged_out'"
_JOINED = (
    "SELECT count(*) FROM supervision_sessions WHERE supervisor_channel_id IS NOT NULL"
)
