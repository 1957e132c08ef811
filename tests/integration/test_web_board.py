"""
The directors' board API on a real Postgres: supervision requests and who may
make them. (The engine side, dialling the director's phone, is the operators
package's; here the request row, its audit and its refusals are checked.)
"""

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from web_helpers import (
    add_account,
    fast_accounts,
    login,
    page_csrf,
    seed_call,
    web_client,
)

from engine.clock import FakeClock
from engine.operators.accounts import AccountStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def accounts(pool: asyncpg.Pool, clock: FakeClock) -> AccountStore:
    return fast_accounts(pool, clock)


@pytest.fixture
async def boss(
    pool: asyncpg.Pool, clock: FakeClock, accounts: AccountStore
) -> AsyncIterator[TestClient]:
    await add_account(pool, clock, "op1", endpoint="PJSIP/6001")
    await add_account(pool, clock, "boss", "director", endpoint="PJSIP/6100")
    async with web_client(pool, clock, accounts) as c:
        await login(c, "boss")
        c.headers = {"X-CSRF-Token": await page_csrf(c, "/board")}  # type: ignore[attr-defined]
        yield c


async def _post(client: TestClient, path: str, body: object) -> tuple[int, dict]:
    response = await client.post(path, json=body, headers=client.headers)  # type: ignore[attr-defined]
    return response.status, await response.json()


async def test_supervise_listen_writes_audited_request_and_ends(
    boss: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    call_id = await seed_call(pool, clock, "op1")

    status, body = await _post(
        boss, f"/api/calls/{call_id}/supervise", {"mode": "listen"}
    )
    board = await (await boss.get("/api/board")).json()
    ended = await _post(boss, f"/api/supervisions/{body['supervision_id']}/end", {})

    assert status == 201
    assert [(s["call_id"], s["mode"]) for s in board["supervising"]] == [
        (call_id, "listen")
    ]
    row = await pool.fetchrow("SELECT * FROM supervision_sessions")
    assert (row["supervisor_id"], row["operator_id"], row["mode"]) == (
        "boss",
        "op1",
        "listen",
    )
    assert ended[0] == 200
    assert await pool.fetchval("SELECT end_reason FROM supervision_sessions") == (
        "supervisor_left"
    )
    actions = await pool.fetch(
        "SELECT action FROM audit_log WHERE actor = 'boss' AND object_id = $1"
        " ORDER BY id",
        call_id,
    )
    assert [a["action"] for a in actions] == [
        "supervision_started",
        "supervision_ended",
    ]


async def test_supervise_bad_requests_refused_without_rows(
    boss: TestClient, pool: asyncpg.Pool, clock: FakeClock, accounts: AccountStore
) -> None:
    call_id = await seed_call(pool, clock, "op1")
    await add_account(pool, clock, "op2", endpoint="PJSIP/6002")

    bad_mode = await _post(boss, f"/api/calls/{call_id}/supervise", {"mode": "spy"})
    no_call = await _post(boss, "/api/calls/nope/supervise", {"mode": "barge"})
    no_end = await _post(boss, "/api/supervisions/999/end", {})
    async with web_client(pool, clock, accounts) as c:
        await login(c, "op2")
        token = await page_csrf(c)
        by_operator = await c.post(
            f"/api/calls/{call_id}/supervise",
            json={"mode": "listen"},
            headers={"X-CSRF-Token": token},
        )

    assert bad_mode[0] == 422
    assert (
        "mode must be one of listen, whisper, barge" in bad_mode[1]["error"]["message"]
    )
    assert no_call[0] == 409
    assert "is not live with an operator" in no_call[1]["error"]["message"]
    assert no_end[0] == 409
    assert by_operator.status == 403
    assert await pool.fetchval("SELECT count(*) FROM supervision_sessions") == 0
