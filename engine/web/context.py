"""
What every handler needs, stored once on the application.

Handlers reach it with ``ctx(request)``; the route modules never import the
app factory, so ``app.py`` can import them all without a cycle.
"""

from dataclasses import dataclass

import asyncpg
import jinja2
from aiohttp import web

from engine.clock import Clock
from engine.operators.service import OperatorService
from engine.settings import Settings
from engine.web.sessions import Session, SessionStore


@dataclass
class WebContext:
    """The web app's shared services."""

    settings: Settings
    pool: asyncpg.Pool
    sessions: SessionStore
    templates: jinja2.Environment
    clock: Clock
    # Accounts, softphone sessions, calls, dispositions, board: every check of
    # who may see or change what lives there, not in the pages.
    operators: OperatorService


CONTEXT = web.AppKey("outdial_web", WebContext)
SESSION_KEY = web.RequestKey("outdial_session", Session)


def ctx(request: web.Request) -> WebContext:
    """The shared services of the app serving this request."""
    return request.app[CONTEXT]


def current_session(request: web.Request) -> Session | None:
    """The request's session as the auth middleware found it, if any."""
    return request.get(SESSION_KEY)
