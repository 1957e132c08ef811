"""
What every CLI command needs: settings, logging, a database, an event loop.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import click

from engine.db import migrations
from engine.db.dsn import resolve_dsn
from engine.db.pool import create_pool
from engine.exceptions import EngineError
from engine.logging import configure_logging
from engine.settings import Settings, get_settings

T = TypeVar("T")


def setup(settings: Settings | None = None) -> Settings:
    """Read settings and configure logging for a CLI command."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)

    return settings


def secret_from_env(variable: str) -> str:
    """
    The value of environment ``variable``, which must be set and not empty.

    Passwords come from the environment, never from the command line, where
    any user of the machine could read them in the process list.
    """
    value = os.environ.get(variable)
    if not value:
        raise click.UsageError(f"environment variable {variable} is empty or unset")

    return value


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine, turning engine errors into a clean CLI error."""
    try:
        return asyncio.run(coro)
    except EngineError as exc:
        raise click.ClickException(str(exc)) from exc


@asynccontextmanager
async def database(
    settings: Settings, *, upgrade: bool = True
) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the configured database, migrated to the latest schema."""
    dsn = await asyncio.to_thread(resolve_dsn, settings)
    pool = await create_pool(
        dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max
    )
    try:
        if upgrade:
            async with pool.acquire() as conn:
                await migrations.upgrade(conn)
        yield pool
    finally:
        await pool.close()
