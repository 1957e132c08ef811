"""
Shared fixtures: a real PostgreSQL for every test that asks for one.

The run creates one template database with every migration applied, then each
test gets its own copy (``CREATE DATABASE … TEMPLATE``, a file copy that takes
tens of milliseconds) which is dropped afterwards. The server is the one named
by ``OUTDIAL_TEST_DATABASE_URL``, else 127.0.0.1:5432, else the embedded one.
"""

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import structlog

from engine.db import migrations
from engine.db.pool import create_pool

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _with_database(dsn: str, database: str) -> str:
    base, _, _ = dsn.rpartition("/")
    query = ""
    if "?" in dsn:
        query = "?" + dsn.split("?", 1)[1]

    return f"{base}/{database}{query}"


async def _reachable(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()

    return True


def _server_dsn(tmp_root: Path) -> str:
    dsn = os.environ.get("OUTDIAL_TEST_DATABASE_URL", DEFAULT_SERVER)
    if asyncio.run(_reachable(dsn)):
        return dsn
    from engine.db.embedded import embedded_dsn

    return embedded_dsn(tmp_root)


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(autouse=True)
def structlog_config_restored() -> Iterator[None]:
    """
    Put back the structlog and root-logger configuration a test found.

    A CLI command run in-process configures logging for the whole process
    (at WARNING in the CLI tests), and a later test's ``capture_logs`` would
    then see none of the INFO events it checks.
    """
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**saved)
    root.handlers, root.level = handlers, level


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> str:
    """DSN of the maintenance database on the test server."""
    return _server_dsn(tmp_path_factory.mktemp("pg"))


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """Name of a database holding the full schema, for tests to copy."""
    name = f"outdial_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin(pg_server, f'CREATE DATABASE "{name}"'))

    async def migrate() -> None:
        conn = await asyncpg.connect(_with_database(pg_server, name))
        try:
            await migrations.upgrade(conn)
            # The institution's line, approved as a bank would before any
            # campaign starts (compliance refuses unapproved caller ids).
            await conn.execute(
                "INSERT INTO approved_caller_ids (caller_id, label, added_by)"
                " VALUES ('95555', 'test fixture: main line', 'tests')"
            )
        finally:
            await conn.close()

    asyncio.run(migrate())
    yield name
    asyncio.run(_admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def db_dsn(pg_server: str, pg_template: str) -> Iterator[str]:
    """DSN of a fresh, fully migrated database dropped after the test."""
    name = f"outdial_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(pg_server, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield _with_database(pg_server, name)
    asyncio.run(_admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_db_dsn(pg_server: str) -> Iterator[str]:
    """DSN of a fresh database with no schema at all."""
    name = f"outdial_e_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(pg_server, f'CREATE DATABASE "{name}"'))
    yield _with_database(pg_server, name)
    asyncio.run(_admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """An asyncpg pool on the test's own database."""
    p = await create_pool(db_dsn, min_size=1, max_size=5)
    yield p
    try:
        await asyncio.wait_for(p.close(), 10)
    except TimeoutError:
        # A connection is still held by a task of a test that pytest-timeout
        # interrupted (its coroutine stays pending): a graceful close would
        # wait for it forever and hang the whole run.
        p.terminate()
