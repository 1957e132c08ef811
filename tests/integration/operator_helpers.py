"""Shared helpers of the operator tests on the simulator (not a test module)."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
from argon2 import PasswordHasher

from engine.ari import AriClient
from engine.clock import SystemClock
from engine.dialer.engine import Engine, build_engine
from engine.operators.accounts import Account, AccountStore
from engine.operators.service import OperatorService
from engine.operators.sessions import SessionState
from engine.operators.wiring import build_operators
from engine.settings import Settings
from engine.sim import Simulator

PASSWORD = "operator password 2026"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def engine_settings(sim: Simulator, db_dsn: str, tmp_path: Path) -> Settings:
    """The engine on the simulator, with a short wrap-up."""
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
    )


@contextlib.asynccontextmanager
async def running(
    settings: Settings, pool: asyncpg.Pool
) -> AsyncIterator[tuple[Engine, OperatorService]]:
    """The engine with the operators attached, as ``outdial run`` builds it."""
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
                yield engine, operators.service
            finally:
                await engine.service.drain()
    finally:
        await ari.close()


async def eventually(check: Callable[[], Awaitable[bool]], limit_s: float = 15) -> None:
    """Wait until ``check()`` is true (Postgres state has no event to wait on)."""
    async with asyncio.timeout(limit_s):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def log_in(
    service: OperatorService,
    sim: Simulator,
    operator_id: str,
    ext: str,
    role: str = "operator",
) -> Account:
    """An account on softphone ``ext``; an operator is logged in and ready."""
    await service.accounts.create(
        operator_id,
        operator_id.title(),
        role,
        "first password 1",
        endpoint=f"PJSIP/{ext}",
    )
    await service.accounts.change_password(operator_id, "first password 1", PASSWORD)
    sim.softphones.register(ext, answer_after=0.5)
    account = await service.authenticate(operator_id, PASSWORD)
    if role != "operator":
        return account
    await service.start_session(account)

    async def ready() -> bool:
        session = await service.session(account)
        return session is not None and session.state is SessionState.READY

    await eventually(ready)

    return account


async def make_campaign(
    pool: asyncpg.Pool, phone: str, settings: dict[str, object]
) -> tuple[int, str]:
    """A running campaign with these settings and one contact: id and name."""
    name = f"ops-{uuid.uuid4().hex[:8]}"
    campaign_id: int = await pool.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id, state, max_concurrent,"
        " calls_per_second, settings) VALUES ($1, 'customer_care', '95555',"
        " 'running', 5, 10, $2) RETURNING id",
        name,
        settings,
    )
    await pool.execute(
        "INSERT INTO contacts (campaign_id, phone) VALUES ($1, $2)", campaign_id, phone
    )

    return campaign_id, name


async def call_archived(pool: asyncpg.Pool) -> bool:
    """The one attempt has ended and its recording is in the archive."""
    archived = await pool.fetchval(
        "SELECT count(*) FROM call_attempts a JOIN recordings r"
        " ON r.attempt_id = a.id WHERE a.state = 'ended' AND r.state = 'archived'"
    )

    return bool(archived == 1)


@contextlib.asynccontextmanager
async def dialling(engine: Engine) -> AsyncIterator[None]:
    """The controller and archiver run while the block does."""
    tasks = [
        asyncio.create_task(engine.controller.run()),
        asyncio.create_task(engine.archiver.run()),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def wait_call(service: OperatorService, account: Account) -> str:
    """The id of the call the operator is put through to."""
    async with asyncio.timeout(15):
        while (call := await service.current_call(account)) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    return call.call_id


async def operator_bridged(sim: Simulator, pool: asyncpg.Pool, call_id: str) -> bool:
    """The operator's softphone leg is in the customer's bridge (the sim says)."""
    leg = await pool.fetchval(
        "SELECT s.channel_id FROM operator_calls oc"
        " JOIN operator_sessions s ON s.id = oc.session_id WHERE oc.call_id = $1",
        call_id,
    )
    customer, operator = sim.channels.get(call_id), sim.channels.get(leg or "")
    if customer is None or operator is None:
        return False

    return customer.bridge_id is not None and operator.bridge_id == customer.bridge_id
