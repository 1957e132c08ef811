"""
Helpers for the web app's tests: a running app on a test database, logins.
"""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from engine.clock import Clock
from engine.operators.accounts import AccountStore
from engine.settings import Settings
from engine.web.app import create_app

PASSWORD = "correct horse battery"
_CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def web_settings(**overrides: Any) -> Settings:
    """Settings for a test app, with no env file in play."""
    values: dict[str, Any] = {"web_max_body_bytes": 4096} | overrides
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def web_client(
    pool: asyncpg.Pool, clock: Clock, **kwargs: Any
) -> AsyncIterator[TestClient]:
    """A test client on a fresh app served on a free local port."""
    app = create_app(web_settings(), pool, clock=clock, **kwargs)
    async with TestClient(TestServer(app)) as client:
        yield client


async def add_account(
    accounts: AccountStore,
    operator_id: str,
    role: str = "operator",
    *,
    endpoint: str | None = None,
    expired: bool = False,
) -> None:
    """An account whose password works (or has expired, if asked)."""
    await accounts.create(
        operator_id, f"Name {operator_id}", role, PASSWORD, endpoint=endpoint
    )
    await accounts.set_password(
        operator_id, PASSWORD, actor="test", must_change=expired
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
