"""
The operator desktop API on a real Postgres: states, the call, dispositions,
and every kind of bad input (each refused with a 4xx that changes nothing).
"""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from web_helpers import (
    CUSTOMER_NAME,
    CUSTOMER_PHONE,
    add_account,
    fast_accounts,
    login,
    page_csrf,
    ready_session,
    seed_call,
    web_client,
)

from engine.clock import FakeClock
from engine.operators.accounts import AccountStore
from engine.operators.sessions import SessionRepository, SessionState

SCRIPT = {
    "opening": "Good morning, this is {operator} from {institution}.",
    "identity_check": "May I confirm your date of birth?",
    "purpose": "We are calling about your overdue card balance.",
    "body": "Offer a payment plan.",
    "questions": [{"q": "Can I pay later?", "a": "Yes, within 30 days."}],
    "closing": "Thank you for your time.",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def accounts(pool: asyncpg.Pool, clock: FakeClock) -> AccountStore:
    return fast_accounts(pool, clock)


@pytest.fixture
async def client(
    pool: asyncpg.Pool, clock: FakeClock, accounts: AccountStore
) -> AsyncIterator[TestClient]:
    await add_account(pool, clock, "op1", endpoint="PJSIP/6001")
    await add_account(pool, clock, "op2", endpoint="PJSIP/6002")
    async with web_client(pool, clock, accounts) as c:
        await login(c, "op1")
        c.csrf = await page_csrf(c)  # type: ignore[attr-defined]
        yield c


async def _post(client: TestClient, path: str, body: Any) -> tuple[int, Any]:
    response = await client.post(
        path,
        json=body,
        headers={"X-CSRF-Token": client.csrf},  # type: ignore[attr-defined]
    )
    return response.status, await response.json()


async def _snapshot(client: TestClient) -> dict[str, Any]:
    response = await client.get("/api/desktop")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"

    return await response.json()


async def _table_counts(pool: asyncpg.Pool) -> dict[str, int]:
    tables = ("dispositions", "escalations", "dnc_entries", "operator_sessions")
    return {t: await pool.fetchval(f"SELECT count(*) FROM {t}") for t in tables}


async def test_state_start_shift_opens_connecting_session(
    client: TestClient, pool: asyncpg.Pool
) -> None:
    before = await _snapshot(client)

    status, body = await _post(client, "/api/desktop/state", {"state": "connecting"})

    assert before["session"] is None
    assert status == 200
    assert body["session"]["state"] == "connecting"
    assert (
        await pool.fetchval(
            "SELECT state FROM operator_sessions WHERE operator_id = 'op1'"
        )
        == "connecting"
    )


async def test_state_ready_pause_logout_follow_requests(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await _post(client, "/api/desktop/state", {"state": "connecting"})
    await ready_session(pool, clock, "op1")

    paused = await _post(
        client, "/api/desktop/state", {"state": "paused", "reason": "meal"}
    )
    ready = await _post(client, "/api/desktop/state", {"state": "ready"})
    out = await _post(client, "/api/desktop/state", {"state": "logged_out"})

    assert paused[0] == 200
    assert paused[1]["session"]["state"] == "paused"
    assert paused[1]["session"]["pause_reason"] == "meal"
    assert ready[1]["session"]["state"] == "ready"
    assert out[0] == 200
    assert out[1]["session"] is None
    states = await pool.fetch(
        "SELECT state FROM operator_state_log WHERE operator_id = 'op1' ORDER BY id"
    )
    assert [r["state"] for r in states] == ["connecting", "ready", "paused", "ready"]


async def test_state_bad_requests_are_4xx_and_change_nothing(
    client: TestClient, pool: asyncpg.Pool
) -> None:
    before = await _table_counts(pool)
    csrf = {"X-CSRF-Token": client.csrf}  # type: ignore[attr-defined]

    bad_state = await _post(client, "/api/desktop/state", {"state": "on_call"})
    unknown = await _post(client, "/api/desktop/state", {"state": "ready", "x": 1})
    no_session = await _post(client, "/api/desktop/state", {"state": "ready"})
    bad_campaign = await _post(
        client, "/api/desktop/state", {"state": "connecting", "campaign_id": 999}
    )
    wrong_type = await _post(
        client, "/api/desktop/state", {"state": "connecting", "campaign_id": "1"}
    )
    not_json = await client.post("/api/desktop/state", data="state=ready", headers=csrf)
    broken = await client.post(
        "/api/desktop/state",
        data="{not json",
        headers=csrf | {"Content-Type": "application/json"},
    )
    array = await _post(client, "/api/desktop/state", ["ready"])
    no_csrf = await client.post("/api/desktop/state", json={"state": "connecting"})
    huge = await _post(client, "/api/desktop/state", {"state": "x" * 20_000})

    assert bad_state[0] == 422
    assert "state must be one of" in bad_state[1]["error"]["message"]
    assert unknown == (
        422,
        {"error": {"code": "unknown_field", "message": "unknown field: x"}},
    )
    assert no_session[0] == 409
    assert bad_campaign[0] == 422
    assert "no campaign 999" in bad_campaign[1]["error"]["message"]
    assert wrong_type[0] == 422
    assert not_json.status == 415
    assert broken.status == 400
    assert (await broken.json())["error"]["code"] == "bad_json"
    assert array[0] == 400
    assert no_csrf.status == 403
    assert (await no_csrf.json())["error"]["code"] == "csrf_failed"
    assert huge[0] == 413
    assert await _table_counts(pool) == before


async def test_state_without_softphone_is_409(
    pool: asyncpg.Pool, clock: FakeClock, accounts: AccountStore
) -> None:
    await add_account(pool, clock, "nophone")
    async with web_client(pool, clock, accounts) as c:
        await login(c, "nophone")
        csrf = await page_csrf(c)

        response = await c.post(
            "/api/desktop/state",
            json={"state": "connecting"},
            headers={"X-CSRF-Token": csrf},
        )

        assert response.status == 409
        assert "no softphone endpoint" in (await response.json())["error"]["message"]


async def test_call_masked_until_identity_verified_then_revealed(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    call_id = await seed_call(pool, clock, "op1", script=SCRIPT)

    masked = (await _snapshot(client))["call"]
    status, _ = await _post(client, f"/api/calls/{call_id}/identity", {})
    shown = (await _snapshot(client))["call"]

    assert masked["customer"]["masked"] is True
    assert CUSTOMER_PHONE not in str(masked)
    assert CUSTOMER_NAME not in str(masked)
    assert masked["script"]["opening"] == (
        "Good morning, this is Name op1 from Example Bank."
    )
    assert masked["script"]["questions"] == SCRIPT["questions"]
    assert "promise_to_pay" in [o["code"] for o in masked["outcomes"]]
    assert status == 200
    assert shown["customer"] == {
        "name": CUSTOMER_NAME,
        "phone": CUSTOMER_PHONE,
        "masked": False,
    }
    audited = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE actor = 'op1'"
        " AND action = 'customer_identity_verified' AND object_id = $1",
        call_id,
    )
    assert audited == 1


async def test_disposition_with_refusal_and_complaint_lands_everywhere(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    call_id = await seed_call(pool, clock, "op1")

    status, body = await _post(
        client,
        f"/api/calls/{call_id}/disposition",
        {
            "outcome": "dispute",
            "notes": "rude collector, wants no calls",
            "refusal": True,
            "complaint": True,
            "aml_suspected": True,
        },
    )

    assert status == 201
    assert body["outcome"] == "dispute"
    row = await pool.fetchrow("SELECT * FROM dispositions WHERE call_id = $1", call_id)
    assert (
        row["operator_id"],
        row["refusal"],
        row["complaint"],
        row["aml_suspected"],
    ) == ("op1", True, True, True)
    dnc = await pool.fetchrow("SELECT phone, scope, source FROM dnc_entries")
    assert dict(dnc) == {
        "phone": CUSTOMER_PHONE,
        "scope": "collections",
        "source": "customer_refusal",
    }
    kinds = await pool.fetch("SELECT kind FROM escalations ORDER BY kind")
    assert [r["kind"] for r in kinds] == ["aml", "complaint"]
    assert (await _snapshot(client))["call"]["disposition"] == "dispute"


async def test_disposition_with_callback_reads_campaign_local_time(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    call_id = await seed_call(pool, clock, "op1")
    local = (clock.now() + timedelta(days=1)).astimezone().strftime("%Y-%m-%dT10:30")

    status, _ = await _post(
        client,
        f"/api/calls/{call_id}/disposition",
        {"outcome": "callback_requested", "callback_at": local},
    )

    assert status == 201
    stored = await pool.fetchval(
        "SELECT to_char(callback_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI')"
        " FROM dispositions WHERE call_id = $1",
        call_id,
    )
    assert stored == "10:30"


async def test_disposition_bad_forms_are_422_and_change_nothing(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    call_id = await seed_call(pool, clock, "op1")
    path = f"/api/calls/{call_id}/disposition"
    yesterday = (clock.now() - timedelta(days=1)).isoformat()
    before = await _table_counts(pool)

    results = [
        await _post(client, path, body)
        for body in (
            {},
            {"outcome": "sale"},
            {"outcome": "promise_to_pay", "notes": "n" * 4001},
            {"outcome": "callback_requested"},
            {"outcome": "callback_requested", "callback_at": yesterday},
            {"outcome": "callback_requested", "callback_at": "tomorrow-ish"},
            {"outcome": "promise_to_pay", "refusal": "yes"},
            {"outcome": "promise_to_pay", "score": 3},
        )
    ]

    assert [status for status, _ in results] == [422] * 8
    messages = [body["error"]["message"] for _, body in results]
    assert messages[0] == "outcome is required"
    assert "does not fit a collections call" in messages[1]
    assert "notes is longer than 4000" in messages[2]
    assert "needs a callback time" in messages[3]
    assert "next 90 days" in messages[4]
    assert "callback_at must be a date and time" in messages[5]
    assert "refusal must be true or false" in messages[6]
    assert "unknown field: score" in messages[7]
    assert await _table_counts(pool) == before


async def test_disposition_twice_is_refused(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    call_id = await seed_call(pool, clock, "op1")
    path = f"/api/calls/{call_id}/disposition"

    first = await _post(client, path, {"outcome": "paid_already"})
    second = await _post(client, path, {"outcome": "dispute"})

    assert first[0] == 201
    assert second[0] == 422
    assert "already has a disposition" in second[1]["error"]["message"]
    assert (
        await pool.fetchval(
            "SELECT outcome FROM dispositions WHERE call_id = $1", call_id
        )
        == "paid_already"
    )


async def test_other_operators_call_is_403_and_unchanged(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    theirs = await seed_call(pool, clock, "op2")
    before = await _table_counts(pool)

    verify = await _post(client, f"/api/calls/{theirs}/identity", {})
    dispose = await _post(
        client, f"/api/calls/{theirs}/disposition", {"outcome": "paid_already"}
    )
    missing = await _post(
        client, "/api/calls/no-such-call/disposition", {"outcome": "x"}
    )
    mine = await _snapshot(client)

    assert verify[0] == 403
    assert verify[1]["error"]["code"] == "not_permitted"
    assert dispose[0] == 403
    assert missing[0] == 404
    assert mine["call"] is None
    assert (
        await pool.fetchval(
            "SELECT identity_verified FROM operator_calls WHERE call_id = $1", theirs
        )
        is False
    )
    assert await _table_counts(pool) == before


async def test_stats_and_calls_show_only_own(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    mine = await seed_call(pool, clock, "op1")
    await seed_call(pool, clock, "op2")
    await _post(client, f"/api/calls/{mine}/disposition", {"outcome": "paid_already"})

    stats = await (await client.get("/api/desktop/stats")).json()
    calls = (await (await client.get("/api/desktop/calls")).json())["calls"]
    others = await client.get("/api/desktop/calls?operator_id=op2")

    assert (stats["operator_id"], stats["calls"], stats["dispositions"]) == (
        "op1",
        1,
        1,
    )
    assert stats["by_outcome"] == {"paid_already": 1}
    assert [c["call_id"] for c in calls] == [mine]
    assert calls[0]["phone"] != CUSTOMER_PHONE
    assert [c["call_id"] for c in (await others.json())["calls"]] == [mine]


async def test_board_for_director_lists_operators_calls_campaigns(
    pool: asyncpg.Pool, clock: FakeClock, accounts: AccountStore
) -> None:
    await add_account(pool, clock, "op3", endpoint="PJSIP/6003")
    await add_account(pool, clock, "boss", "director")
    call_id = await seed_call(pool, clock, "op3")
    async with web_client(pool, clock, accounts) as c:
        await login(c, "boss")

        page = await c.get("/board")
        board = await (await c.get("/api/board")).json()

    assert page.status == 200
    assert [(o["id"], o["state"], o["call_id"]) for o in board["operators"]] == [
        ("op3", "on_call", call_id)
    ]
    assert [(x["id"], x["operator"]) for x in board["calls"]] == [(call_id, "op3")]
    assert board["calls"][0]["phone"] != CUSTOMER_PHONE
    assert board["campaigns"][0]["contacts"] == {"leased": 1}
    assert board["campaigns"][0]["in_progress"] == 1


async def test_wrap_up_shows_countdown_and_keeps_call_for_disposition(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    call_id = await seed_call(pool, clock, "op1")
    session = await SessionRepository(pool).live_for("op1")
    assert session is not None
    await SessionRepository(pool).transition(
        session.id, SessionState.WRAP_UP, clock.now(), wrap_up_s=30
    )
    clock.advance(timedelta(seconds=12))

    during = await _snapshot(client)
    status, _ = await _post(
        client, f"/api/calls/{call_id}/disposition", {"outcome": "hardship"}
    )
    early = await _post(client, "/api/desktop/state", {"state": "ready"})

    assert during["session"]["state"] == "wrap_up"
    assert during["session"]["wrap_up_left_s"] == 18.0
    assert during["call"]["id"] == call_id
    assert status == 201
    assert early[1]["session"]["state"] == "ready"
    assert early[1]["call"] is None


async def test_escalation_acknowledged_by_director_not_operator(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock, accounts: AccountStore
) -> None:
    call_id = await seed_call(pool, clock, "op1")
    await _post(
        client,
        f"/api/calls/{call_id}/disposition",
        {"outcome": "completed", "fraud_suspected": True, "notes": "odd transfers"},
    )
    escalation_id = await pool.fetchval("SELECT id FROM escalations")
    path = f"/api/escalations/{escalation_id}/acknowledge"
    await add_account(pool, clock, "boss", "director")

    by_operator = await _post(client, path, {})
    async with web_client(pool, clock, accounts) as c:
        await login(c, "boss")
        csrf = {"X-CSRF-Token": await page_csrf(c, "/board")}
        listed = (await (await c.get("/api/board")).json())["escalations"]
        done = await c.post(path, json={}, headers=csrf)
        again = await c.post(path, json={}, headers=csrf)

    assert by_operator[0] == 403
    assert [(e["kind"], e["notes"]) for e in listed] == [("fraud", "odd transfers")]
    assert done.status == 200
    assert again.status == 409
    row = await pool.fetchrow("SELECT state, acknowledged_by FROM escalations")
    assert (row["state"], row["acknowledged_by"]) == ("acknowledged", "boss")


async def test_call_after_wrap_up_without_disposition_stays_pending(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    call_id = await seed_call(pool, clock, "op1")
    await seed_call(pool, clock, "op2")
    repo = SessionRepository(pool)
    session = await repo.live_for("op1")
    assert session is not None
    await repo.transition(session.id, SessionState.WRAP_UP, clock.now(), wrap_up_s=5)
    await repo.transition(session.id, SessionState.READY, clock.now())

    waiting = (await _snapshot(client))["call"]
    status, _ = await _post(
        client, f"/api/calls/{call_id}/disposition", {"outcome": "hardship"}
    )
    after = (await _snapshot(client))["call"]

    assert (waiting["id"], waiting["pending"]) == (call_id, True)
    assert waiting["customer"]["masked"] is True
    assert CUSTOMER_PHONE not in str(waiting)
    assert status == 201
    assert after is None


async def test_hangup_own_live_call_audited_others_refused(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    mine = await seed_call(pool, clock, "op1")
    theirs = await seed_call(pool, clock, "op2")

    live = (await _snapshot(client))["call"]["live"]
    done = await _post(client, f"/api/calls/{mine}/hangup", {})
    other = await _post(client, f"/api/calls/{theirs}/hangup", {})
    await pool.execute(
        "UPDATE operator_calls SET ended_at = now() WHERE call_id = $1", mine
    )
    ended = await _post(client, f"/api/calls/{mine}/hangup", {})

    assert live is True
    assert done[0] == 200
    assert other[0] == 403
    assert ended[0] == 409
    assert "has already ended" in ended[1]["error"]["message"]
    actions = await pool.fetch(
        "SELECT actor, object_id FROM audit_log WHERE action = 'call_hung_up_by_operator'"
    )
    assert [(a["actor"], a["object_id"]) for a in actions] == [("op1", mine)]
