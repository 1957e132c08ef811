"""The migrations runner against a real, empty database."""

from pathlib import Path

import asyncpg
import pytest

from engine.db import migrations
from engine.exceptions import MigrationError


async def test_upgrade_applies_all_then_nothing(empty_db_dsn):
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        first = await migrations.upgrade(conn)
        second = await migrations.upgrade(conn)
    finally:
        await conn.close()

    assert first == [m.name for m in migrations.load_migrations()]
    assert second == []


async def test_upgrade_refuses_changed_migration(empty_db_dsn, tmp_path: Path):
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x int);")
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        await migrations.upgrade(conn, tmp_path)
        (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x bigint);")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrations.upgrade(conn, tmp_path)
    finally:
        await conn.close()


async def test_failed_migration_leaves_nothing_behind(empty_db_dsn, tmp_path: Path):
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE ok (x int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE bad (x int); SELEC 1;")
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        with pytest.raises(MigrationError, match="0002_bad"):
            await migrations.upgrade(conn, tmp_path)
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
    finally:
        await conn.close()

    assert sorted(r["tablename"] for r in tables) == ["ok", "schema_migrations"]
