"""Sessions, routing, pacing, dispositions and complaints on the real Postgres."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from argon2 import PasswordHasher

from engine.clock import FakeClock
from engine.dialer.models import Campaign
from engine.operators.accounts import Account, AccountStore
from engine.operators.dispositions import DispositionForm
from engine.operators.exceptions import (
    DispositionError,
    PermissionDeniedError,
    SessionStateError,
)
from engine.operators.pacing import ProgressiveCapacity
from engine.operators.routing import claim_operator
from engine.operators.service import OperatorService
from engine.operators.sessions import SessionRepository, SessionState

ARI = "http://sim"
# cheap argon2 parameters: the tests check the logic, not the cost
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "a good long password"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(pool: asyncpg.Pool, clock: FakeClock) -> OperatorService:
    return OperatorService(pool, clock, AccountStore(pool, clock, hasher=FAST_HASHER))


async def _account(
    service: OperatorService, operator_id: str, role: str = "operator"
) -> Account:
    endpoint = f"PJSIP/{abs(hash(operator_id)) % 9000 + 1000}"
    await service.accounts.create(
        operator_id, operator_id.title(), role, "first pass 123", endpoint=endpoint
    )
    await service.accounts.change_password(operator_id, "first pass 123", PASSWORD)

    return await service.authenticate(operator_id, PASSWORD)


async def _ready(service: OperatorService, account: Account, clock: FakeClock) -> int:
    """A session as an engine would leave it once the softphone answered."""
    session = await service.start_session(account)
    await service.pool.execute(
        "UPDATE operator_sessions SET engine_id = 'e1', ari_url = $2 WHERE id = $1",
        session.id,
        ARI,
    )
    await SessionRepository(service.pool).connected(
        session.id, f"leg-{session.id}", "holding", clock.now()
    )
    clock.advance(timedelta(seconds=1))

    return session.id


async def _campaign(pool: asyncpg.Pool, settings: dict[str, Any] | None = None) -> int:
    return await pool.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id, state, settings)"
        " VALUES ($1, 'collections', '+8610000000', 'running', $2) RETURNING id",
        f"c-{uuid.uuid4().hex[:6]}",
        settings or {"operators": True},
    )


async def _call(
    pool: asyncpg.Pool, campaign_id: int, n: int, state: str = "answered"
) -> str:
    phone = f"+86138000{n:05d}"
    contact_id = await pool.fetchval(
        "INSERT INTO contacts (campaign_id, phone, name) VALUES ($1, $2, 'Zhang San')"
        " RETURNING id",
        campaign_id,
        phone,
    )
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,"
        " caller_id, dial_string, engine_id, lease_expires_at, state)"
        " VALUES ($1, $2, $3, 1, $4, '+8610000000', 'x', 'e1', now(), $5)",
        call_id,
        campaign_id,
        contact_id,
        phone,
        state,
    )

    return call_id


async def _bridge(
    service: OperatorService, campaign_id: int, call_id: str, clock: FakeClock
) -> str:
    """Claim an operator for the call and record the hand-over as bridging does."""
    claim = await claim_operator(
        service.pool,
        campaign_id=campaign_id,
        call_id=call_id,
        engine_id="e1",
        now=clock.now(),
    )
    assert claim is not None
    await service.pool.execute(
        "INSERT INTO operator_calls (call_id, campaign_id, contact_id, operator_id,"
        " session_id, bridge_id, wait_ms, bridged_at) SELECT id, campaign_id,"
        " contact_id, $2, $3, 'b', 10, $4 FROM call_attempts WHERE id = $1",
        call_id,
        claim.operator_id,
        claim.session_id,
        clock.now(),
    )

    return claim.operator_id


async def test_routing_picks_longest_idle_operator(
    service: OperatorService, clock: FakeClock
) -> None:
    a = await _account(service, "alice")
    b = await _account(service, "bob")
    await _ready(service, b, clock)
    await _ready(service, a, clock)
    campaign_id = await _campaign(service.pool)

    first = await _bridge(
        service, campaign_id, await _call(service.pool, campaign_id, 1), clock
    )

    assert first == "bob"
    assert (await service.session(b)).state is SessionState.ON_CALL  # type: ignore[union-attr]


async def test_routing_callback_goes_to_promised_operator_when_free(
    service: OperatorService, clock: FakeClock
) -> None:
    a = await _account(service, "alice")
    b = await _account(service, "bob")
    await _ready(service, b, clock)
    await _ready(service, a, clock)
    campaign_id = await _campaign(service.pool)
    promised = await _call(service.pool, campaign_id, 1)
    await service.pool.execute(
        "INSERT INTO callbacks (campaign_id, contact_id, due_at, operator, state,"
        " created_by) SELECT campaign_id, contact_id, now(), 'alice', 'done', 'alice'"
        " FROM call_attempts WHERE id = $1",
        promised,
    )

    first = await _bridge(service, campaign_id, promised, clock)
    second = await _bridge(
        service, campaign_id, await _call(service.pool, campaign_id, 2), clock
    )

    assert first == "alice"  # bob had waited longer, alice made the promise
    assert second == "bob"


async def test_routing_callback_promised_operator_busy_takes_another(
    service: OperatorService, clock: FakeClock
) -> None:
    a = await _account(service, "alice")
    b = await _account(service, "bob")
    await _ready(service, a, clock)
    campaign_id = await _campaign(service.pool)
    await _bridge(
        service, campaign_id, await _call(service.pool, campaign_id, 1), clock
    )
    await _ready(service, b, clock)
    promised = await _call(service.pool, campaign_id, 2)
    await service.pool.execute(
        "INSERT INTO callbacks (campaign_id, contact_id, due_at, operator,"
        " created_by) SELECT campaign_id, contact_id, now(), 'alice', 'alice'"
        " FROM call_attempts WHERE id = $1",
        promised,
    )

    taken = await _bridge(service, campaign_id, promised, clock)

    assert taken == "bob"


async def test_routing_concurrent_claims_never_share_an_operator(
    service: OperatorService, clock: FakeClock
) -> None:
    for name in ("op1", "op2", "op3"):
        await _ready(service, await _account(service, name), clock)
    campaign_id = await _campaign(service.pool)
    calls = [await _call(service.pool, campaign_id, n) for n in range(8)]

    claims = await asyncio.gather(
        *(
            claim_operator(
                service.pool,
                campaign_id=campaign_id,
                call_id=c,
                engine_id="e1",
                now=clock.now(),
            )
            for c in calls
        )
    )

    taken = [c.operator_id for c in claims if c is not None]
    assert sorted(taken) == ["op1", "op2", "op3"]


async def test_routing_finished_wrap_up_counts_as_ready(
    service: OperatorService, clock: FakeClock
) -> None:
    session_id = await _ready(service, await _account(service, "carol"), clock)
    campaign_id = await _campaign(service.pool)
    await _bridge(
        service, campaign_id, await _call(service.pool, campaign_id, 1), clock
    )
    await service.sessions.transition(
        session_id, SessionState.WRAP_UP, clock.now(), wrap_up_s=30
    )
    call2 = await _call(service.pool, campaign_id, 2)

    early = await claim_operator(
        service.pool,
        campaign_id=campaign_id,
        call_id=call2,
        engine_id="e1",
        now=clock.now(),
    )
    clock.advance(timedelta(seconds=31))
    late = await claim_operator(
        service.pool,
        campaign_id=campaign_id,
        call_id=call2,
        engine_id="e1",
        now=clock.now(),
    )

    assert early is None
    assert late is not None
    assert late.session_id == session_id


async def test_pacing_ready_operators_times_ratio(
    service: OperatorService, clock: FakeClock
) -> None:
    for name in ("p1", "p2", "p3"):
        await _ready(service, await _account(service, name), clock)
    campaign_id = await _campaign(service.pool, {"operators": {"ratio": 1.5}})
    await _call(service.pool, campaign_id, 1, state="ringing")
    row = await service.pool.fetchrow(
        "SELECT * FROM campaigns WHERE id = $1", campaign_id
    )

    capacity = await ProgressiveCapacity(service.pool, clock).capacity(
        Campaign.from_row(row)
    )

    assert capacity == 3  # floor(3 x 1.5) - 1 ringing


async def test_pacing_no_operators_no_calls(
    service: OperatorService, clock: FakeClock
) -> None:
    campaign_id = await _campaign(service.pool)
    row = await service.pool.fetchrow(
        "SELECT * FROM campaigns WHERE id = $1", campaign_id
    )

    assert (
        await ProgressiveCapacity(service.pool, clock).capacity(Campaign.from_row(row))
        == 0
    )


async def test_session_pause_and_logout_states(
    service: OperatorService, clock: FakeClock
) -> None:
    account = await _account(service, "dave")
    await _ready(service, account, clock)

    paused = await service.pause(account, "coffee")
    ready = await service.set_ready(account)
    await service.end_session(account)

    assert (paused.state, paused.pause_reason) == (SessionState.PAUSED, "coffee")
    assert ready.state is SessionState.READY
    assert await service.session(account) is None
    states = await service.pool.fetch(
        "SELECT state, ended_at IS NOT NULL AS closed FROM operator_state_log"
        " WHERE operator_id = 'dave' ORDER BY id"
    )
    assert [(r["state"], r["closed"]) for r in states] == [
        ("connecting", True),
        ("ready", True),
        ("paused", True),
        ("ready", True),
    ]
    with pytest.raises(SessionStateError):
        await service.pause(account, "again")


async def test_disposition_refusal_suppresses_number(
    service: OperatorService, clock: FakeClock
) -> None:
    account = await _account(service, "erin")
    await _ready(service, account, clock)
    campaign_id = await _campaign(service.pool)
    call_id = await _call(service.pool, campaign_id, 7)
    await _bridge(service, campaign_id, call_id, clock)

    await service.dispose(
        account, DispositionForm(call_id, "refused", notes="no more calls")
    )

    dnc = await service.pool.fetchrow("SELECT phone, scope FROM dnc_entries")
    assert dict(dnc) == {"phone": "+8613800000007", "scope": "collections"}
    assert await service.pool.fetchval("SELECT refusal FROM dispositions") is True


async def test_disposition_other_operators_call_denied(
    service: OperatorService, clock: FakeClock
) -> None:
    owner = await _account(service, "fay")
    other = await _account(service, "gus")
    director = await _account(service, "boss", "director")
    await _ready(service, owner, clock)
    campaign_id = await _campaign(service.pool)
    call_id = await _call(service.pool, campaign_id, 8)
    await _bridge(service, campaign_id, call_id, clock)

    with pytest.raises(PermissionDeniedError):
        await service.dispose(other, DispositionForm(call_id, "completed"))
    with pytest.raises(PermissionDeniedError):
        await service.calls(other, "fay")
    with pytest.raises(PermissionDeniedError):
        await service.board(other)

    assert await service.pool.fetchval("SELECT count(*) FROM dispositions") == 0
    assert [c.call_id for c in await service.calls(director, "fay")] == [call_id]
    assert [c.call_id for c in await service.calls(owner)] == [call_id]


async def test_disposition_bad_outcome_or_duplicate_rejected(
    service: OperatorService, clock: FakeClock
) -> None:
    account = await _account(service, "hal")
    await _ready(service, account, clock)
    campaign_id = await _campaign(service.pool)
    call_id = await _call(service.pool, campaign_id, 9)
    await _bridge(service, campaign_id, call_id, clock)

    with pytest.raises(DispositionError, match="survey_completed"):
        await service.dispose(account, DispositionForm(call_id, "survey_completed"))
    with pytest.raises(DispositionError, match="callback time"):
        await service.dispose(account, DispositionForm(call_id, "callback_requested"))
    await service.dispose(account, DispositionForm(call_id, "promise_to_pay"))
    with pytest.raises(DispositionError, match="already"):
        await service.dispose(account, DispositionForm(call_id, "completed"))


async def test_complaint_surge_pauses_campaign_with_reason(
    service: OperatorService, clock: FakeClock
) -> None:
    account = await _account(service, "ivy")
    director = await _account(service, "chief", "director")
    session_id = await _ready(service, account, clock)
    campaign_id = await _campaign(
        service.pool, {"operators": {"complaints": {"max": 2, "window_min": 10}}}
    )
    reasons = []
    for n in range(2):
        call_id = await _call(service.pool, campaign_id, 20 + n)
        await _bridge(service, campaign_id, call_id, clock)
        await service.sessions.transition(session_id, SessionState.WRAP_UP, clock.now())
        reasons.append(
            await service.dispose(
                account, DispositionForm(call_id, "complaint", complaint=True)
            )
        )

    row = await service.pool.fetchrow(
        "SELECT state, state_reason FROM campaigns WHERE id = $1", campaign_id
    )
    assert reasons[0] is None
    assert reasons[1] is not None
    assert row["state"] == "paused"
    assert "2 complaints" in row["state_reason"]
    kinds = sorted(e.kind for e in await service.escalations(director))
    assert kinds == ["campaign_paused", "complaint", "complaint"]
    board = await service.board(director)
    assert board.campaigns[0].state_reason == row["state_reason"]


async def test_pacing_bound_engine_counts_own_operators_and_calls(
    service: OperatorService, clock: FakeClock
) -> None:
    for name in ("q1", "q2", "q3"):
        await _ready(service, await _account(service, name), clock)
    await service.pool.execute(
        "UPDATE operator_sessions SET engine_id = 'e2' WHERE operator_id = 'q3'"
    )
    campaign_id = await _campaign(service.pool, {"operators": {"ratio": 2}})
    row = await service.pool.fetchrow(
        "SELECT * FROM campaigns WHERE id = $1", campaign_id
    )
    pacing = ProgressiveCapacity(service.pool, clock)
    pacing.bind_local("e1", active=lambda _: 3, bridged=lambda _: 1)

    capacity = await pacing.capacity(Campaign.from_row(row))

    assert capacity == 2  # 2 own operators x 2 - (3 placed - 1 bridged)


async def test_routing_other_engines_operators_not_taken(
    service: OperatorService, clock: FakeClock
) -> None:
    await _ready(service, await _account(service, "r1"), clock)
    campaign_id = await _campaign(service.pool)
    call_id = await _call(service.pool, campaign_id, 30)

    claim = await claim_operator(
        service.pool, campaign_id=campaign_id, call_id=call_id, engine_id="e2",
        now=clock.now(),
    )  # fmt: skip

    assert claim is None


async def test_complaint_share_of_connected_pauses_campaign(
    service: OperatorService, clock: FakeClock
) -> None:
    account = await _account(service, "sam")
    session_id = await _ready(service, account, clock)
    limits = {"max": None, "max_share": 0.5, "min_connected": 2}
    campaign_id = await _campaign(service.pool, {"operators": {"complaints": limits}})
    calls = []
    for n in range(2):
        calls.append(await _call(service.pool, campaign_id, 40 + n))
        await _bridge(service, campaign_id, calls[-1], clock)
        await service.sessions.transition(session_id, SessionState.WRAP_UP, clock.now())

    first = await service.dispose(account, DispositionForm(calls[0], "completed"))
    second = await service.dispose(account, DispositionForm(calls[1], "complaint"))

    assert first is None
    assert second == "complaints on 1 of 2 connected calls (threshold 50.0%)"
    state = await service.pool.fetchval(
        "SELECT state FROM campaigns WHERE id = $1", campaign_id
    )
    assert state == "paused"
