"""
The web app factory: operator desktop, live board, and what later pages add.

Each page module keeps its own ``routes = web.RouteTableDef()``; the factory
mounts every module named in ``ROUTE_MODULES``. A new page (the recordings
review, say) is one module with a route table and one line in that tuple.
"""

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import structlog
from aiohttp import web

from engine.clock import Clock, SystemClock
from engine.operators.accounts import AccountStore
from engine.operators.service import OperatorService
from engine.settings import Settings
from engine.web.auth import session_middleware
from engine.web.context import CONTEXT, WebContext
from engine.web.render import template_environment
from engine.web.security import csrf_middleware, error_middleware, security_headers
from engine.web.sessions import SessionStore

log = structlog.get_logger(__name__)

PURGE_EVERY_S = 300
STATIC_DIR = Path(__file__).resolve().parent / "static"
ROUTE_MODULES = (
    "engine.web.auth",
    "engine.web.desktop",
    "engine.web.board",
    "engine.web.review",
)


def create_app(
    settings: Settings,
    pool: asyncpg.Pool,
    *,
    clock: Clock | None = None,
    operators: OperatorService | None = None,
) -> web.Application:
    """
    Build the aiohttp application on an open, migrated pool.

    ``operators`` defaults to a service without softphone manager: logins,
    states and dispositions go through Postgres to whichever engine holds the
    softphone legs.
    """
    clock = clock or SystemClock()
    if operators is None:
        operators = _operator_service(settings, pool, clock)
    app = web.Application(
        client_max_size=settings.web_max_body_bytes,
        middlewares=[error_middleware, session_middleware, csrf_middleware],
    )
    app[CONTEXT] = _context(settings, pool, clock, operators)
    for name in ROUTE_MODULES:
        app.router.add_routes(importlib.import_module(name).routes)
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
    app.router.add_get("/healthz", _healthz)
    app.on_response_prepare.append(security_headers)
    app.cleanup_ctx.append(_purge_sessions)

    return app


def _operator_service(
    settings: Settings, pool: asyncpg.Pool, clock: Clock
) -> OperatorService:
    """A service without softphone manager, with the configured login policy."""
    accounts = AccountStore.from_settings(settings, pool, clock)

    return OperatorService(pool, clock, accounts)


def _context(
    settings: Settings, pool: asyncpg.Pool, clock: Clock, operators: OperatorService
) -> WebContext:
    """What every handler reaches through ``ctx(request)``."""
    sessions = SessionStore(
        pool,
        idle=timedelta(minutes=settings.web_session_idle_minutes),
        max_age=timedelta(hours=settings.web_session_max_hours),
    )

    return WebContext(
        settings=settings,
        pool=pool,
        sessions=sessions,
        templates=template_environment(),
        clock=clock,
        operators=operators,
    )


async def _purge_sessions(app: web.Application) -> AsyncIterator[None]:
    """Delete expired sessions every few minutes while the app runs."""
    sessions = app[CONTEXT].sessions

    async def loop() -> None:
        while True:
            await asyncio.sleep(PURGE_EVERY_S)
            try:
                purged = await sessions.purge()
            except (OSError, asyncpg.PostgresError):
                log.warning("web_session_purge_failed")
                continue
            if purged:
                log.info("web_sessions_purged", count=purged)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _healthz(request: web.Request) -> web.Response:
    """Liveness for a load balancer: answers once the database does."""
    await request.app[CONTEXT].pool.fetchval("SELECT 1")

    return web.json_response({"ok": True})
