"""The do-not-call list on a real Postgres: changes, imports, audit, expiry."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from engine.campaigns.importer import import_contacts
from engine.compliance import dnc
from engine.compliance.dncexport import export_csv
from engine.compliance.dncimport import import_file
from engine.compliance.exceptions import DncError, DncImportError
from engine.compliance.hooks import mark_suppressed

NOW = datetime(2026, 6, 10, 2, tzinfo=UTC)
PHONE = "+8613800138000"


async def _campaign(
    conn: asyncpg.Connection, name: str = "c", kind: str = "collections"
) -> int:
    campaign_id: int = await conn.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id) VALUES ($1, $2, '95555')"
        " RETURNING id",
        name,
        kind,
    )
    return campaign_id


async def _actions(conn: asyncpg.Connection) -> list[str]:
    return [
        r["action"]
        for r in await conn.fetch("SELECT action FROM audit_log ORDER BY id")
    ]


async def test_add_entry_marks_pending_contacts_and_audits(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        collections = await _campaign(conn)
        marketing = await _campaign(conn, "m", "marketing")
        for campaign_id in (collections, marketing):
            await conn.execute(
                "INSERT INTO contacts (campaign_id, phone) VALUES ($1, $2)",
                campaign_id,
                PHONE,
            )

        await dnc.add_entry(
            conn,
            PHONE,
            scope="marketing",
            source="complaint",
            reason="angry",
            actor="sup1",
            now=NOW,
        )

        states = dict(await conn.fetch("SELECT campaign_id, state FROM contacts"))
        assert states == {collections: "pending", marketing: "suppressed"}
        assert await _actions(conn) == ["dnc_added", "contact_suppressed"]


async def test_record_refusal_durable_before_return(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        entry = await dnc.record_refusal(conn, PHONE, "collections", "op7", "att-1")

    async with pool.acquire() as other:
        found = await dnc.find_active(other, PHONE, "collections", datetime.now(UTC))
        audit = await other.fetchrow(
            "SELECT * FROM audit_log WHERE action = 'dnc_added'"
        )

    assert found is not None
    assert found.id == entry.id
    assert found.source == "customer_refusal"
    assert audit["actor"] == "op7"
    assert audit["details"]["attempt_id"] == "att-1"


async def test_remove_entry_needs_reason_keeps_row(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await dnc.add_entry(
            conn, PHONE, scope="all", source="manual", reason="", actor="a", now=NOW
        )
        with pytest.raises(DncError, match="needs a reason"):
            await dnc.remove_entry(conn, PHONE, scope="all", actor="b", reason=" ")

        (removed,) = await dnc.remove_entry(
            conn, PHONE, scope="all", actor="b", reason="customer consented again"
        )

        assert removed.removed_by == "b"
        assert await dnc.find_active(conn, PHONE, "collections", NOW) is None
        assert len(await dnc.history(conn, PHONE)) == 1
        assert (await _actions(conn))[-1] == "dnc_removed"


async def test_expired_entry_stops_suppressing_without_delete(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        await dnc.add_entry(
            conn,
            PHONE,
            scope="all",
            source="regulator",
            reason="",
            actor="a",
            now=NOW,
            expires_at=NOW + timedelta(days=30),
        )

        assert await dnc.find_active(conn, PHONE, "survey", NOW + timedelta(days=29))
        assert (
            await dnc.find_active(conn, PHONE, "survey", NOW + timedelta(days=31))
            is None
        )
        assert await conn.fetchval("SELECT count(*) FROM dnc_entries") == 1


async def test_add_entry_bad_scope_or_number_refused(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(DncError, match="neither 'all' nor a kind"):
            await dnc.add_entry(
                conn,
                PHONE,
                scope="lottery",
                source="manual",
                reason="",
                actor="a",
                now=NOW,
            )
        with pytest.raises(DncError, match=r"not an E\.164"):
            await dnc.add_entry(
                conn,
                "12345",
                scope="all",
                source="manual",
                reason="",
                actor="a",
                now=NOW,
            )

        assert await conn.fetchval("SELECT count(*) FROM dnc_entries") == 0


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "dnc.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_import_file_bad_lines_reported_good_load(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        [
            "phone",
            PHONE,
            "13900139000",
            "139 0013 9000",
            "12345",
            "+12125550100",
            "abc",
        ],
    )
    async with pool.acquire() as conn:
        result = await import_file(
            conn,
            path,
            scope="all",
            source="regulator",
            reason="list",
            actor="a",
            now=NOW,
        )

        phones = {
            p
            for p in (
                "+8613800138000",
                "+8613900139000",
                "+12125550100",
                "+8613700137000",
            )
            if await dnc.find_active(conn, p, "survey", NOW)
        }

    assert phones == {PHONE, "+8613900139000", "+12125550100"}
    assert (result.lines, result.valid, result.numbers) == (7, 4, 3)
    assert [(r.line, r.reason) for r in result.rejected] == [
        (5, "not a valid number"),
        (7, "not a phone number"),
    ]


async def test_import_file_strict_bad_line_loads_nothing(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    path = _write(tmp_path, [PHONE, "12345"])
    async with pool.acquire() as conn:
        with pytest.raises(DncImportError, match="line 2, not a valid number"):
            await import_file(
                conn,
                path,
                scope="all",
                source="regulator",
                reason="",
                actor="a",
                now=NOW,
                strict=True,
            )

        assert await conn.fetchval("SELECT count(*) FROM dnc_entries") == 0
        assert await conn.fetchval("SELECT count(*) FROM audit_log") == 0


async def test_import_file_replaces_list_and_suppresses(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    other = "+8613900139000"
    async with pool.acquire() as conn:
        campaign_id = await _campaign(conn)
        await conn.execute(
            "INSERT INTO contacts (campaign_id, phone) VALUES ($1, $2)",
            campaign_id,
            PHONE,
        )
        options = {"scope": "all", "source": "regulator", "reason": "", "actor": "a"}
        first = await import_file(conn, _write(tmp_path, [PHONE]), now=NOW, **options)
        second = await import_file(
            conn, _write(tmp_path, [other]), now=NOW, replaces=first.list_id, **options
        )

        assert (first.numbers, first.suppressed_contacts) == (1, 1)
        assert second.list_id != first.list_id
        assert await dnc.find_active(conn, PHONE, "survey", NOW) is None
        assert (
            await dnc.find_active(conn, other, "survey", NOW)
        ).list_id == second.list_id
        assert await conn.fetchval("SELECT state FROM contacts") == "suppressed"
        assert (await _actions(conn)).count("dnc_imported") == 2
        assert "dnc_list_removed" in await _actions(conn)


async def test_list_number_removed_alone_with_reason(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    numbers = [f"+86138001{i:05d}" for i in range(1000)]
    async with pool.acquire() as conn:
        result = await import_file(
            conn,
            _write(tmp_path, numbers),
            scope="collections",
            source="regulator",
            reason="",
            actor="a",
            now=NOW,
        )
        listed = [await dnc.find_active(conn, p, "collections", NOW) for p in numbers]
        (removed,) = await dnc.remove_entry(
            conn, numbers[500], scope="collections", actor="b", reason="wrong number"
        )

        assert result.numbers == 1000
        assert all(e is not None and e.list_id == result.list_id for e in listed)
        assert await dnc.find_active(conn, "+8613800200000", "collections", NOW) is None
        assert await dnc.find_active(conn, numbers[0], "marketing", NOW) is None
        assert removed.list_id == result.list_id
        assert await dnc.find_active(conn, numbers[500], "collections", NOW) is None
        assert await dnc.find_active(conn, numbers[501], "collections", NOW)
        (history,) = await dnc.history(conn, numbers[500])
        assert history.removal_reason == "wrong number"


async def test_import_file_expiry_stops_list(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with pool.acquire() as conn:
        await import_file(
            conn,
            _write(tmp_path, [PHONE]),
            scope="all",
            source="regulator",
            reason="",
            actor="a",
            now=NOW,
            expires_at=NOW + timedelta(days=1),
        )

        assert await dnc.find_active(conn, PHONE, "survey", NOW + timedelta(hours=23))
        assert (
            await dnc.find_active(conn, PHONE, "survey", NOW + timedelta(days=2))
            is None
        )


async def test_export_csv_live_entries_and_lists(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with pool.acquire() as conn:
        for phone in (PHONE, "+8613900139000"):
            await dnc.add_entry(
                conn, phone, scope="all", source="manual", reason="", actor="a", now=NOW
            )
        await dnc.remove_entry(conn, PHONE, scope="all", actor="a", reason="mistake")
        await import_file(
            conn,
            _write(tmp_path, ["+8613700137000"]),
            scope="all",
            source="regulator",
            reason="",
            actor="a",
            now=NOW,
        )
        out = tmp_path / "out.csv"

        live = await export_csv(conn, out, now=NOW)
        everything = await export_csv(
            conn, tmp_path / "all.csv", now=NOW, everything=True
        )

    assert (live, everything) == (2, 3)
    rows = sorted(out.read_text().splitlines()[1:])
    assert rows[0].startswith("+8613700137000,all,regulator")
    assert rows[1].startswith("+8613900139000,all,manual")


async def test_contact_import_hook_marks_listed_suppressed(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with pool.acquire() as conn:
        await _campaign(conn)
        await dnc.add_entry(
            conn,
            PHONE,
            scope="collections",
            source="complaint",
            reason="",
            actor="a",
            now=datetime.now(UTC),
        )
    path = tmp_path / "contacts.csv"
    path.write_text("phone,name\n13800138000,A\n13900139000,B\n", encoding="utf-8")

    result = await import_contacts(pool, "c", path, post_load=[mark_suppressed])

    rows = dict(await pool.fetch("SELECT phone, state_reason FROM contacts"))
    assert result.extra == {"suppressed (do-not-call)": 1}
    assert rows == {PHONE: "dnc:complaint:collections", "+8613900139000": None}
