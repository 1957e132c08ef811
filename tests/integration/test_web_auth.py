"""
Login, logout, password change and sessions of the web app, on a real Postgres.
"""

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from web_helpers import (
    PASSWORD,
    add_account,
    csrf_of,
    fast_accounts,
    login,
    page_csrf,
    web_client,
)

from engine.clock import FakeClock
from engine.operators.accounts import AccountStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def accounts(pool: asyncpg.Pool, clock: FakeClock) -> AccountStore:
    return fast_accounts(pool, clock, max_failures=3)


@pytest.fixture
async def client(
    pool: asyncpg.Pool, clock: FakeClock, accounts: AccountStore
) -> AsyncIterator[TestClient]:
    async with web_client(pool, clock, accounts=accounts) as c:
        yield c


async def _audit_actions(pool: asyncpg.Pool, operator_id: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT action FROM audit_log WHERE actor = $1 ORDER BY id", operator_id
    )
    return [r["action"] for r in rows]


async def test_login_right_password_opens_desktop_with_session_cookie(
    client: TestClient, accounts: AccountStore, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1")

    page = await client.get("/login")
    token = csrf_of(await page.text())
    response = await client.post(
        "/login",
        data={"operator_id": "op1", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )

    assert response.status == 303
    assert response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie
    rows = await pool.fetch("SELECT operator_id, role FROM web_sessions")
    assert [(r["operator_id"], r["role"]) for r in rows] == [("op1", "operator")]
    desktop = await client.get("/")
    assert desktop.status == 200
    assert "operator_login" in await _audit_actions(pool, "op1")


async def test_login_wrong_password_refused_without_session(
    client: TestClient, accounts: AccountStore, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1")

    status, text = await login(client, "op1", "wrong password here")

    assert status == 401
    assert "wrong operator id or password" in text
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM web_sessions WHERE operator_id IS NOT NULL"
        )
        == 0
    )
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_login_repeated_failures_lock_account_with_message(
    client: TestClient, accounts: AccountStore, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1")

    statuses = [(await login(client, "op1", "bad password 123"))[0] for _ in range(3)]
    status, text = await login(client, "op1", PASSWORD)

    assert statuses == [401, 401, 423]
    assert status == 423
    assert "account op1 is locked" in text


async def test_login_expired_password_allows_only_password_change(
    client: TestClient, accounts: AccountStore, clock: FakeClock, pool: asyncpg.Pool
) -> None:
    await add_account(pool, clock, "op1", expired=True)

    page = await client.get("/login")
    token = csrf_of(await page.text())
    response = await client.post(
        "/login",
        data={"operator_id": "op1", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    desktop = await client.get("/", allow_redirects=False)
    api = await client.get("/api/desktop")

    assert response.status == 303
    assert response.headers["Location"] == "/password"
    assert desktop.status == 303
    assert desktop.headers["Location"] == "/password"
    assert api.status == 403
    assert (await api.json())["error"]["code"] == "password_expired"


async def test_password_change_expired_then_desktop_opens(
    client: TestClient, accounts: AccountStore, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1", expired=True)
    await login(client, "op1")
    token = await page_csrf(client, "/password")
    new = "a brand new secret"

    mismatch = await client.post(
        "/password",
        data={
            "old_password": PASSWORD,
            "new_password": new,
            "confirm": new + "x",
            "csrf_token": token,
        },
    )
    short = await client.post(
        "/password",
        data={
            "old_password": PASSWORD,
            "new_password": "short",
            "confirm": "short",
            "csrf_token": token,
        },
    )
    done = await client.post(
        "/password",
        data={
            "old_password": PASSWORD,
            "new_password": new,
            "confirm": new,
            "csrf_token": token,
        },
        allow_redirects=False,
    )

    assert mismatch.status == 422
    assert "the two new passwords differ" in await mismatch.text()
    assert short.status == 422
    assert "at least 10 characters" in await short.text()
    assert done.status == 303
    assert (await client.get("/", allow_redirects=False)).status == 200
    assert (await accounts.authenticate("op1", new)).id == "op1"


async def test_login_without_csrf_token_refused(
    client: TestClient, accounts: AccountStore, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1")
    await client.get("/login")

    response = await client.post(
        "/login", data={"operator_id": "op1", "password": PASSWORD}
    )

    assert response.status == 403
    assert "csrf" in await response.text()
    assert "operator_login" not in await _audit_actions(pool, "op1")


async def test_login_from_other_origin_refused(
    client: TestClient, accounts: AccountStore, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1")
    token = csrf_of(await (await client.get("/login")).text())

    response = await client.post(
        "/login",
        data={"operator_id": "op1", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status == 403
    assert "another site" in await response.text()


async def test_login_missing_field_is_400(
    client: TestClient, accounts: AccountStore
) -> None:
    token = csrf_of(await (await client.get("/login")).text())

    response = await client.post(
        "/login", data={"operator_id": "op1", "csrf_token": token}
    )

    assert response.status == 400
    assert "password is required" in await response.text()


async def test_login_oversized_body_is_413(
    client: TestClient, accounts: AccountStore, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1")
    token = csrf_of(await (await client.get("/login")).text())

    response = await client.post(
        "/login",
        data={"operator_id": "op1", "password": "x" * 20_000, "csrf_token": token},
    )

    assert response.status == 413
    assert "request body larger than 16384 bytes" in await response.text()
    assert await _audit_actions(pool, "op1") == []


async def test_logout_ends_session_in_database(
    client: TestClient, accounts: AccountStore, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1")
    await login(client, "op1")
    token = await page_csrf(client)

    response = await client.post(
        "/logout", data={"csrf_token": token}, allow_redirects=False
    )

    assert response.status == 303
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM web_sessions WHERE operator_id = 'op1'"
        )
        == 0
    )
    assert (await client.get("/api/desktop")).status == 401
    assert "web_logout" in await _audit_actions(pool, "op1")


async def test_pages_carry_security_headers(client: TestClient) -> None:
    response = await client.get("/login")

    headers = response.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


async def test_board_as_operator_is_403(
    client: TestClient, accounts: AccountStore, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1")
    await login(client, "op1")

    response = await client.get("/api/board")

    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden"


async def test_session_idle_too_long_needs_login_again(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1")
    await login(client, "op1")
    await pool.execute(
        "UPDATE web_sessions SET last_seen_at = now() - interval '31 minutes'"
    )

    api = await client.get("/api/desktop")
    page = await client.get("/", allow_redirects=False)

    assert api.status == 401
    assert (await api.json())["error"]["code"] == "login_required"
    assert page.status == 303
    assert page.headers["Location"] == "/login"


async def test_session_past_max_age_needs_login_again(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1")
    await login(client, "op1")
    await pool.execute("UPDATE web_sessions SET expires_at = now()")

    assert (await client.get("/api/desktop")).status == 401


async def test_login_behind_tls_sets_secure_cookie_and_hsts(
    pool: asyncpg.Pool, clock: FakeClock, accounts: AccountStore
) -> None:
    async with web_client(pool, clock, accounts, web_behind_tls=True) as c:
        response = await c.get("/login")

    assert "Secure" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_pages_have_no_inline_script_or_style(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "boss", "director")
    pages = [await (await client.get("/login")).text()]
    await login(client, "boss")
    for path in ("/", "/board", "/password"):
        response = await client.get(path)
        assert response.status == 200, path
        pages.append(await response.text())

    for html in pages:
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
        assert re.search(r"\sstyle=|<style|\son[a-z]+=", html) is None


async def test_static_script_served_revalidated(client: TestClient) -> None:
    response = await client.get("/static/desktop.js")

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_board_page_as_operator_is_403_page(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock
) -> None:
    await add_account(pool, clock, "op1")
    await login(client, "op1")

    page = await client.get("/board")
    missing = await client.get("/no/such/page")

    assert page.status == 403
    assert page.content_type == "text/html"
    assert "this needs the role director or admin" in await page.text()
    assert missing.status == 404
    assert missing.content_type == "text/html"


async def test_account_locked_by_admin_ends_live_session(
    client: TestClient, pool: asyncpg.Pool, clock: FakeClock, accounts: AccountStore
) -> None:
    await add_account(pool, clock, "op1")
    await login(client, "op1")
    await accounts.lock("op1", actor="admin", reason="left the company")

    first = await client.get("/api/desktop")
    second = await client.get("/api/desktop")

    assert first.status == 401
    assert (await first.json())["error"]["code"] == "account_locked"
    assert (await second.json())["error"]["code"] == "login_required"
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM web_sessions WHERE operator_id = 'op1'"
        )
        == 0
    )
