"""
Helpers for the web app's tests: a running app on a test database, logins.
"""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from engine.clock import Clock
from engine.operators.accounts import AccountStore
from engine.operators.routing import claim_operator
from engine.operators.service import OperatorService
from engine.operators.sessions import SessionRepository
from engine.settings import Settings
from engine.web.app import create_app

PASSWORD = "correct horse battery"
_CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def web_settings(**overrides: Any) -> Settings:
    """Settings for a test app, with no env file in play."""
    values: dict[str, Any] = {"web_max_body_bytes": 16384} | overrides
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def web_client(
    pool: asyncpg.Pool, clock: Clock, accounts: AccountStore, **settings: Any
) -> AsyncIterator[TestClient]:
    """A test client on a fresh app served on a free local port."""
    operators = OperatorService(pool, clock, accounts)
    app = create_app(web_settings(**settings), pool, clock=clock, operators=operators)
    async with TestClient(TestServer(app)) as client:
        yield client


# Cheap argon2 parameters: the tests log in many accounts, and the real
# parameters are slow on purpose. Verification reads them from the hash.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


def fast_accounts(pool: asyncpg.Pool, clock: Clock, **kwargs: Any) -> AccountStore:
    """The account store the web tests use, hashing with cheap parameters."""
    return AccountStore(pool, clock, hasher=FAST_HASHER, **kwargs)


async def add_account(
    pool: asyncpg.Pool,
    clock: Clock,
    operator_id: str,
    role: str = "operator",
    *,
    endpoint: str | None = None,
    expired: bool = False,
) -> None:
    """An account whose password works (or has expired, if asked)."""
    now = clock.now()
    await pool.execute(
        "INSERT INTO operators (id, name, role, endpoint, password_hash,"
        " password_changed_at, password_expires_at, must_change_password)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        operator_id,
        f"Name {operator_id}",
        role,
        endpoint,
        FAST_HASHER.hash(PASSWORD),
        now,
        now + timedelta(days=90),
        expired,
    )


def csrf_of(html: str) -> str:
    """The CSRF token a page carries in its meta tag."""
    match = _CSRF_RE.search(html)
    assert match is not None, "page has no csrf token"

    return match.group(1)


async def login(
    client: TestClient, operator_id: str, password: str = PASSWORD
) -> tuple[int, str]:
    """Open the login page and post its form; return status and final page text."""
    page = await client.get("/login")
    token = csrf_of(await page.text())
    response = await client.post(
        "/login",
        data={"operator_id": operator_id, "password": password, "csrf_token": token},
    )

    return response.status, await response.text()


async def page_csrf(client: TestClient, path: str = "/") -> str:
    """The CSRF token of the logged-in session, read from a page."""
    page = await client.get(path)
    assert page.status == 200, await page.text()

    return csrf_of(await page.text())


CUSTOMER_PHONE = "+8613800000001"
CUSTOMER_NAME = "王小明"


async def seed_call(
    pool: asyncpg.Pool,
    clock: Clock,
    operator_id: str,
    *,
    kind: str = "collections",
    script: dict[str, Any] | None = None,
) -> str:
    """
    Put ``operator_id`` on a bridged call and return its call id.

    The campaign, contact and attempt are core rows; the operator's session
    goes connecting -> ready -> on_call through the operators package's own
    repository and routing, as an engine would move it. Only the
    ``operator_calls`` row is written here, with the columns the bridge writes.
    """
    now = clock.now()
    settings = {"script": script} if script else {}
    campaign_id = await pool.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id, state, settings)"
        " VALUES ($1, $2, '+861095555', 'running', $3) RETURNING id",
        f"{kind} campaign {operator_id}",
        kind,
        settings,
    )
    contact_id = await pool.fetchval(
        "INSERT INTO contacts (campaign_id, phone, name, state) VALUES ($1, $2, $3,"
        " 'leased') RETURNING id",
        campaign_id,
        CUSTOMER_PHONE,
        CUSTOMER_NAME,
    )
    call_id = f"call-{operator_id}-{contact_id}"
    await pool.execute(
        "INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,"
        " caller_id, dial_string, engine_id, lease_expires_at, state, answered_at)"
        " VALUES ($1, $2, $3, 1, $4, '+861095555', 'PJSIP/x@trunk', 'eng-test',"
        " $5, 'answered', $5)",
        call_id,
        campaign_id,
        contact_id,
        CUSTOMER_PHONE,
        now,
    )
    session_id = await ready_session(pool, clock, operator_id)
    claim = await claim_operator(
        pool, campaign_id=campaign_id, call_id=call_id, ari_url=ARI_URL, now=now
    )
    assert claim is not None
    assert claim.session_id == session_id
    await pool.execute(
        "INSERT INTO operator_calls (call_id, campaign_id, contact_id, operator_id,"
        " session_id, bridge_id, wait_ms, bridged_at)"
        " VALUES ($1, $2, $3, $4, $5, 'bridge-test', 120, $6)",
        call_id,
        campaign_id,
        contact_id,
        operator_id,
        session_id,
        now,
    )

    return call_id


ARI_URL = "http://127.0.0.1:1"


async def ready_session(pool: asyncpg.Pool, clock: Clock, operator_id: str) -> int:
    """Open the operator's session if needed and connect it as an engine would."""
    repo = SessionRepository(pool)
    session = await repo.live_for(operator_id)
    if session is None:
        session = await repo.open(operator_id, None, clock.now())
    claimed = await repo.claim_connecting("eng-test", ARI_URL)
    for item in claimed:
        await repo.connected(item.id, f"op-leg-{item.id}", "holding-test", clock.now())

    return session.id
