"""Softphone sessions against the simulator: login, dial-in, refusals, logout."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from argon2 import PasswordHasher

from engine.ari import AriClient
from engine.clock import SystemClock
from engine.operators.accounts import Account, AccountStore
from engine.operators.service import OperatorService
from engine.operators.sessions import SessionState
from engine.operators.softphones import SoftphoneManager
from engine.sim import Simulator

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "softphone pass 99"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(username="outdial", password="outdial", time_scale=0.01) as s:
        yield s


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[AriClient]:
    ari = AriClient(sim.url, "outdial", "outdial", "outdial")
    await ari.connect()
    async with asyncio.timeout(5):
        await ari.connected.wait()
    yield ari
    await ari.close()


@pytest.fixture
async def manager(
    client: AriClient, pool: asyncpg.Pool, sim: Simulator
) -> AsyncIterator[SoftphoneManager]:
    m = SoftphoneManager(
        client, pool, SystemClock(), engine_id="e1", ari_url=sim.url, ring_timeout_s=5
    )
    await m.start()
    yield m
    await m.stop()


@pytest.fixture
def service(pool: asyncpg.Pool, manager: SoftphoneManager) -> OperatorService:
    clock = SystemClock()
    return OperatorService(
        pool, clock, AccountStore(pool, clock, hasher=FAST_HASHER), manager=manager
    )


async def _account(service: OperatorService, operator_id: str, ext: str) -> Account:
    await service.accounts.create(
        operator_id, "Op", "operator", "first password 1", endpoint=f"PJSIP/{ext}"
    )
    await service.accounts.change_password(operator_id, "first password 1", PASSWORD)

    return await service.authenticate(operator_id, PASSWORD)


async def _state_becomes(
    service: OperatorService, account: Account, state: SessionState | None
) -> None:
    async def reached() -> bool:
        session = await service.session(account)
        return (session.state if session else None) is state

    await _eventually(reached)


async def _eventually(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(10):
        while not await check():  # noqa: ASYNC110 - Postgres state, polled
            await asyncio.sleep(0.02)


async def test_softphone_login_parks_leg_then_logout_hangs_up(
    service: OperatorService, sim: Simulator, manager: SoftphoneManager
) -> None:
    sim.softphones.register("6001", answer_after=0.5)
    account = await _account(service, "op1", "6001")

    await service.start_session(account)
    await _state_becomes(service, account, SessionState.READY)
    session = await service.session(account)
    assert session is not None
    bridge = await manager.client.get_bridge(manager.holding_bridge_id)
    await service.end_session(account)
    await _eventually(lambda: _gone(sim, session.channel_id))

    assert bridge.channels == (session.channel_id,)
    assert bridge.bridge_type == "holding"
    assert [o.endpoint for o in sim.originations] == ["PJSIP/6001"]


async def test_softphone_unregistered_logs_out_with_reason(
    service: OperatorService, pool: asyncpg.Pool
) -> None:
    account = await _account(service, "op2", "6002")

    await service.start_session(account)
    await _state_becomes(service, account, None)

    reason = await pool.fetchval("SELECT end_reason FROM operator_sessions")
    assert reason == "softphone_unreachable"


async def test_softphone_rejecting_call_logs_out(
    service: OperatorService, sim: Simulator, pool: asyncpg.Pool
) -> None:
    from engine.sim import Behaviour

    sim.softphones.register("6003")
    sim.softphones.next_call("6003", Behaviour.rejected(code=486))
    account = await _account(service, "op3", "6003")

    await service.start_session(account)
    await _state_becomes(service, account, None)

    reason = await pool.fetchval("SELECT end_reason FROM operator_sessions")
    assert reason == "softphone_no_answer"


async def test_softphone_dial_in_login_extension_makes_ready(
    service: OperatorService, sim: Simulator, client: AriClient, pool: asyncpg.Pool
) -> None:
    sim.softphones.register("6004")
    account = await _account(service, "op4", "6004")

    # what Stasis(outdial,login) in the dialplan produces for a dialling phone
    await client.create_channel("PJSIP/6004", channel_id="in-1", app_args=("login",))
    await _state_becomes(service, account, SessionState.READY)

    session = await service.session(account)
    assert session is not None
    assert session.channel_id == "in-1"
    assert sim.originations == []  # the phone called in; nothing was dialled
    methods = await pool.fetchval(
        "SELECT details->>'method' FROM audit_log WHERE action = 'operator_login'"
        " ORDER BY id DESC LIMIT 1"
    )
    assert methods == "softphone"


async def test_softphone_dial_in_unknown_phone_refused(
    sim: Simulator, client: AriClient, manager: SoftphoneManager, pool: asyncpg.Pool
) -> None:
    sim.softphones.register("6999")

    await client.create_channel("PJSIP/6999", channel_id="in-2", app_args=("login",))
    await _eventually(lambda: _gone(sim, "in-2"))

    assert await pool.fetchval("SELECT count(*) FROM operator_sessions") == 0


async def _gone(sim: Simulator, channel_id: str | None) -> bool:
    return channel_id not in sim.channels


async def test_softphone_stop_as_wake_fires_poll_loop_ends(
    sim: Simulator, client: AriClient, pool: asyncpg.Pool
) -> None:
    # A NOTIFY (a logout at shutdown) wakes the idle loop just as stop()
    # cancels it: the cancel must not be lost, or stop() waits forever.
    m = SoftphoneManager(
        client, pool, SystemClock(), engine_id="e2", ari_url=sim.url, poll_interval_s=60
    )
    await m.start()

    async def idle() -> bool:
        # the first tick is over: the loop waits for a wake-up
        return m._ticks >= 1

    await _eventually(idle)
    m.wake()
    stopping = asyncio.create_task(m.stop())
    stopped, _ = await asyncio.wait({stopping}, timeout=10)
    if not stopped:
        # cancelling stop() cancels the loop again, so the test itself ends
        stopping.cancel()
        await asyncio.gather(stopping, return_exceptions=True)

    assert stopped == {stopping}
    assert m._task is not None
    assert m._task.done()
