"""Exporting the do-not-call list: formula-safe cells, who may, and the audit."""

import csv
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from engine.compliance import dnc
from engine.compliance.dncexport import export_audited
from engine.compliance.exceptions import DncExportDeniedError

NOW = datetime(2026, 6, 10, 2, tzinfo=UTC)
PHONE = "+8613800138000"


async def _account(conn: asyncpg.Connection, name: str, role: str) -> None:
    await conn.execute(
        "INSERT INTO operators (id, name, role, password_hash, password_changed_at,"
        " password_expires_at) VALUES ($1, $1, $2, 'x', now(), now())",
        name,
        role,
    )


async def _exports(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT actor, object_id, details FROM audit_log"
        " WHERE action = 'dnc_exported' ORDER BY id"
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


async def test_export_formula_cells_quoted_numbers_kept(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Text cells a spreadsheet would evaluate get an apostrophe; E.164 stays."""
    out = tmp_path / "dnc.csv"
    async with pool.acquire() as conn:
        for phone, reason, actor in (
            (PHONE, '=HYPERLINK("http://x","y")', "@agent"),
            ("+8613900139000", "-1+1", "\tboss"),
            ("+12125550100", "customer refused", "ops.wang"),
        ):
            await dnc.add_entry(
                conn,
                phone,
                scope="all",
                source="manual",
                reason=reason,
                actor=actor,
                now=NOW,
            )

        written = await export_audited(
            conn, out, actor="compliance.li", reason="regulator request", now=NOW
        )

    rows = {r["phone"]: r for r in _rows(out)}
    assert written == 3
    assert sorted(rows) == ["+12125550100", "+8613800138000", "+8613900139000"]
    assert rows[PHONE]["reason"] == '\'=HYPERLINK("http://x","y")'
    assert rows[PHONE]["added_by"] == "'@agent"
    assert rows["+8613900139000"]["reason"] == "'-1+1"
    assert rows["+8613900139000"]["added_by"] == "'\tboss"
    assert rows["+12125550100"]["reason"] == "customer refused"
    assert rows["+12125550100"]["scope"] == "all"


async def test_export_audited_with_actor_rows_destination(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    out = tmp_path / "dnc.csv"
    async with pool.acquire() as conn:
        await dnc.add_entry(
            conn, PHONE, scope="all", source="manual", reason="", actor="a", now=NOW
        )
        await _account(conn, "dir.zhao", "director")

        written = await export_audited(
            conn, out, actor="dir.zhao", reason="quarterly filing", now=NOW
        )
        exports = await _exports(conn)

    assert written == 1
    assert len(exports) == 1
    assert exports[0]["actor"] == "dir.zhao"
    assert exports[0]["object_id"] == "dnc.csv"
    details = exports[0]["details"]
    assert details["rows"] == 1
    assert details["destination"] == str(out)
    assert details["role"] == "director"
    assert details["reason"] == "quarterly filing"
    assert details["everything"] is False


@pytest.mark.parametrize("role", ["operator", "locked"])
async def test_export_operator_or_locked_account_refused(
    pool: asyncpg.Pool, tmp_path: Path, role: str
) -> None:
    out = tmp_path / "dnc.csv"
    async with pool.acquire() as conn:
        await dnc.add_entry(
            conn, PHONE, scope="all", source="manual", reason="", actor="a", now=NOW
        )
        await _account(conn, "someone", "operator" if role == "operator" else "admin")
        if role == "locked":
            await conn.execute("UPDATE operators SET locked_at = now()")

        with pytest.raises(DncExportDeniedError, match="may not export"):
            await export_audited(conn, out, actor="someone", reason="x", now=NOW)
        exports = await _exports(conn)
        refused = await conn.fetch(
            "SELECT actor, details FROM audit_log WHERE action = 'dnc_export_refused'"
        )

    assert not out.exists()
    assert exports == []
    assert [r["actor"] for r in refused] == ["someone"]
    expected = "account locked" if role == "locked" else "role 'operator'"
    assert refused[0]["details"]["why"].startswith(expected)
    assert refused[0]["details"]["destination"] == str(out)
