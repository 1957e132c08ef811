"""
Business results imported per contact and credited to the call that earned them.
"""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from engine.reports.access import viewer
from engine.reports.effects import effect_summary, import_effects
from engine.reports.exceptions import ReportError
from engine.reports.export import ExportFormat, ExportRequest, build_export
from engine.reports.stats import Scope

SEED = Path(__file__).with_name("report_seed.sql")
# Campaign time zone Asia/Shanghai: 2026-03-02 is 2026-03-01 16:00Z.
RESULTS = """phone,contact_id,result,amount,occurred_at
13800000001,,payment,"1,200.50",2026-03-02
+8613800000005,,product_sold,,2026-03-01T03:00:00+00:00
,2,payment,50,2026-03-05
13800000099,,payment,10,2026-03-02
13800000001,,payment,abc,2026-03-02
13800000006,,payment,20,2026-05-01
"""


@pytest.fixture
async def conn(pool: asyncpg.Pool) -> asyncpg.Connection:
    """A connection on the seeded database."""
    await pool.execute(SEED.read_text())
    async with pool.acquire() as connection:
        yield connection


async def test_effects_import_matches_last_answered_call(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "results.csv"
    path.write_text(RESULTS)
    done = await import_effects(conn, "Cards", path, actor="dora")
    rows = await conn.fetch(
        "SELECT source_line, contact_id, attempt_id, amount FROM effect_results"
        " ORDER BY source_line"
    )

    assert (done.loaded, done.matched_calls) == (4, 1)
    assert done.bad == [
        (5, "phone is not a contact of this campaign"),
        (6, "amount is not a number: 'abc'"),
    ]
    # a1 answered on 1 March before the payment; a5 only after the sale; contact
    # 2 was never answered; contact 6's call is outside the 30-day window
    assert [tuple(r) for r in rows] == [
        (2, 1, "a1", Decimal("1200.50")),
        (3, 5, None, None),
        (4, 2, None, Decimal("50")),
        (7, 6, None, Decimal("20")),
    ]


async def test_effects_summary_per_operator_and_scope(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "results.csv"
    path.write_text(RESULTS)
    await import_effects(conn, 1, path, actor="dora")
    every = await effect_summary(conn, 1, Scope())
    alice = await effect_summary(conn, 1, Scope(operators=frozenset({"alice"})))

    assert [
        (r["result"], r["operator"], r["results"], r["matched"], r["amount"])
        for r in every
    ] == [
        ("payment", "alice", 1, 1, Decimal("1200.50")),
        ("payment", None, 2, 0, Decimal("70")),
        ("product_sold", None, 1, 0, None),
    ]
    assert [(r["result"], r["operator"]) for r in alice] == [("payment", "alice")]


async def test_effects_file_without_result_column_refused(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("phone,amount\n13800000001,5\n")
    with pytest.raises(ReportError, match="lacks column"):
        await import_effects(conn, "Cards", path, actor="dora")


async def test_effects_shown_in_html_report(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "results.csv"
    path.write_text(RESULTS)
    await import_effects(conn, "Cards", path, actor="dora")
    who = await viewer(conn, "root")
    request = ExportRequest("Cards", fmt=ExportFormat.HTML)
    _, content = await build_export(
        conn, who, request, datetime(2026, 3, 3, tzinfo=UTC)
    )
    page = content.decode()

    assert "Business results credited to calls" in page
    assert "1,200.50" in page
