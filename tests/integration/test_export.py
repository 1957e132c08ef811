"""
Exports in every format: masking, formula neutralisation, roles, audit, 7-Zip.
"""

import asyncio
import csv
import io
import shutil
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import openpyxl
import pytest

from engine.reports import export
from engine.reports.access import viewer
from engine.reports.crypto import read_aes_zip
from engine.reports.exceptions import AccessDeniedError, DecryptionError, ExportError
from engine.reports.export import (
    ExportFormat,
    ExportRequest,
    build_export,
    save_export,
)
from engine.reports.stats import Grouping

SEED = Path(__file__).with_name("report_seed.sql")
AS_OF = datetime(2026, 3, 3, tzinfo=UTC)
RAW_SECRETS = (
    "+8613800000001",
    "8613800000001",
    "Wang Fang",
    "110101199003071234",
    "6222020200112233445",
)
REASON = "court order 2026-17 for the collections audit"


@pytest.fixture
async def conn(pool: asyncpg.Pool) -> asyncpg.Connection:
    """A connection on the seeded database."""
    await pool.execute(SEED.read_text())
    async with pool.acquire() as connection:
        yield connection


async def _export(
    conn: asyncpg.Connection, actor: str, fmt: ExportFormat, **kwargs: object
) -> bytes:
    who = await viewer(conn, actor)
    request = ExportRequest("Cards", fmt=fmt, include_calls=True, **kwargs)  # type: ignore[arg-type]
    _, content = await build_export(conn, who, request, AS_OF)
    return content


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


async def test_csv_calls_default_masked_and_neutralised(
    conn: asyncpg.Connection,
) -> None:
    rows = _csv_rows(await _export(conn, "root", ExportFormat.CSV))
    first = next(r for r in rows if r["attempt_id"] == "a1")

    assert [r["attempt_id"] for r in rows] == [
        "a1",
        "a2",
        "a3",
        "a4",
        "a9",
        "a5",
        "a7",
        "a6",
    ]
    assert first["phone"] == "'+861******0001"
    assert first["name"] == "W********"
    assert first["id_number"] == "**************1234"
    assert first["card_no"] == "***************3445"
    assert first["note"] == '\'=HYPERLINK("http://x")'
    assert first["started"] == "2026-03-01 10:00:00"
    assert first["operator"] == "alice"
    assert first["disposition"] == "promise_to_pay"
    assert next(r for r in rows if r["attempt_id"] == "a6")["name"] == "'-********"
    assert next(r for r in rows if r["attempt_id"] == "a7")["name"] == "'@********"


async def test_csv_statistics_without_calls_hold_figures(
    conn: asyncpg.Connection,
) -> None:
    who = await viewer(conn, "root")
    request = ExportRequest("Cards", Grouping.DAY, ExportFormat.CSV)
    _, content = await build_export(conn, who, request, AS_OF)
    rows = _csv_rows(content)

    assert [r["day"] for r in rows] == ["2026-03-01", "2026-03-02", "total"]
    assert rows[2]["dialled"] == "7"
    assert rows[2]["connect rate"] == str(round(4 / 7, 4))
    assert rows[0]["disposition: promise_to_pay"] == "1"


async def test_xlsx_calls_masked_and_read_back_as_text(
    conn: asyncpg.Connection,
) -> None:
    content = await _export(conn, "root", ExportFormat.XLSX)
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book["Calls"]
    header = [c.value for c in sheet[1]]
    first = {h: c for h, c in zip(header, sheet[2], strict=True)}
    cells = [c for row in book["Calls"].iter_rows() for c in row]

    assert book.sheetnames == ["Statistics", "Calls"]
    assert first["phone"].value == "'+861******0001"
    assert first["note"].value == '\'=HYPERLINK("http://x")'
    assert first["note"].data_type == "s"
    assert all(c.data_type != "f" for c in cells)
    assert not any(str(c.value) in RAW_SECRETS for c in cells)
    stats = book["Statistics"]
    assert [c.value for c in stats[2]][:2] == ["Cards", 6]


async def test_html_calls_masked_and_escaped(conn: asyncpg.Connection) -> None:
    page = (await _export(conn, "root", ExportFormat.HTML)).decode()

    assert "+861******0001" in page
    assert "<svg" in page
    assert "Outcome mix" in page
    assert not any(secret in page for secret in RAW_SECRETS)
    assert "customer data masked" in page
    assert "<script" not in page


async def test_unmasked_export_operator_refused(conn: asyncpg.Connection) -> None:
    with pytest.raises(AccessDeniedError, match="alice may not export unmasked"):
        await _export(
            conn, "alice", ExportFormat.CSV, unmasked=True, unmasked_reason=REASON
        )


async def test_unmasked_export_admin_refused(conn: asyncpg.Connection) -> None:
    with pytest.raises(AccessDeniedError, match="root may not export unmasked"):
        await _export(
            conn, "root", ExportFormat.CSV, unmasked=True, unmasked_reason=REASON
        )


async def test_unmasked_export_director_without_reason_refused(
    conn: asyncpg.Connection,
) -> None:
    with pytest.raises(AccessDeniedError, match="without a reason"):
        await _export(
            conn, "dora", ExportFormat.XLSX, unmasked=True, unmasked_reason=" "
        )


async def test_unmasked_export_director_with_reason_audited(
    conn: asyncpg.Connection,
) -> None:
    rows = _csv_rows(
        await _export(
            conn, "dora", ExportFormat.CSV, unmasked=True, unmasked_reason=REASON
        )
    )
    audit = await conn.fetchrow(
        "SELECT actor, action, object_id, details FROM audit_log"
        " WHERE action = 'report_exported'"
    )

    # dora directs team north: alice's calls only, in the clear, still inert
    assert {r["operator"] for r in rows} == {"alice"}
    assert rows[0]["phone"] == "'+8613800000001"
    assert rows[0]["name"] == "Wang Fang"
    assert rows[0]["note"] == '\'=HYPERLINK("http://x")'
    assert (audit["actor"], audit["object_id"]) == ("dora", "1")
    assert audit["details"]["masked"] is False
    assert audit["details"]["reason"] == REASON


async def test_operator_export_only_own_calls(conn: asyncpg.Connection) -> None:
    rows = _csv_rows(await _export(conn, "bob", ExportFormat.CSV))

    assert [(r["attempt_id"], r["operator"]) for r in rows] == [("a5", "bob")]


async def test_every_export_audited(conn: asyncpg.Connection) -> None:
    for fmt in ExportFormat:
        await _export(conn, "root", fmt)
    rows = await conn.fetch(
        "SELECT details FROM audit_log WHERE action = 'report_exported' ORDER BY id"
    )

    assert [r["details"]["format"] for r in rows] == ["csv", "xlsx", "html"]
    assert all(r["details"]["masked"] for r in rows)


async def _run(*args: str) -> tuple[int, bytes]:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out


def _seven_zip() -> str | None:
    return shutil.which("7z") or shutil.which("7zz")


@pytest.mark.skipif(_seven_zip() is None, reason="7-Zip (Debian package 7zip) absent")
async def test_encrypted_export_opens_with_7zip(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    content = await _export(conn, "root", ExportFormat.XLSX)
    out = save_export(content, tmp_path / "cards.xlsx.zip", "cards.xlsx", "S3cret-pass")
    seven = str(_seven_zip())
    _, listing = await _run(seven, "l", "-slt", "-pS3cret-pass", str(out))
    code, extracted = await _run(seven, "x", "-so", "-pS3cret-pass", str(out))
    wrong, _ = await _run(seven, "x", "-so", "-pwrong-pass", str(out))

    assert code == 0
    assert "Method = AES-256" in listing.decode()
    assert extracted == content
    assert wrong != 0


async def test_encrypted_export_wrong_password_refused(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    content = await _export(conn, "root", ExportFormat.CSV)
    out = save_export(content, tmp_path / "c.zip", "c.csv", "S3cret-pass")

    assert read_aes_zip(out.read_bytes(), "S3cret-pass") == {"c.csv": content}
    with pytest.raises(DecryptionError, match="wrong password"):
        read_aes_zip(out.read_bytes(), "not-the-one")


async def test_call_list_over_format_limit_refused(
    conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(export.CALL_LIMITS, "html", 3)
    with pytest.raises(ExportError, match=r"at most 3\); export them as csv"):
        await _export(conn, "root", ExportFormat.HTML)
    rows = _csv_rows(await _export(conn, "root", ExportFormat.CSV))

    assert len(rows) == 8
