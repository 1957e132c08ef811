"""``outdial contacts import``: encodings, number shapes, duplicates, bad rows."""

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner, Result

from engine.campaigns.exceptions import ImportFileError
from engine.campaigns.importer import ImportContext, import_contacts
from engine.campaigns.models import CampaignSpec
from engine.campaigns.repository import create_campaign
from engine.cli.main import cli
from engine.settings import get_settings

HEADER = "phone,name,account,branch\n"
GOOD_ROWS = (
    "13800138000,张三,6222001,北京分行\n"
    "+86 139-0013-9000,李四,6222002,上海分行\n"
    "0086 137 0013 7000,王五,6222003,广州分行\n"
    "１３６００１３６０００,赵六,6222004,深圳分行\n"
    "(010) 6552-9988,钱七,6222005,北京分行\n"
)
EXPECTED = {
    "+8613800138000": "张三",
    "+8613900139000": "李四",
    "+8613700137000": "王五",
    "+8613600136000": "赵六",
    "+861065529988": "钱七",
}


def run_cli(dsn: str, *args: str) -> Result:
    """The real ``outdial`` command on the test database."""
    env = {
        "OUTDIAL_DATABASE_URL": dsn,
        "OUTDIAL_ACTOR": "ops",
        "OUTDIAL_LOG_LEVEL": "WARNING",
    }
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    finally:
        get_settings.cache_clear()


def fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Rows of one query, from synchronous test code."""

    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


@pytest.fixture
def campaign(db_dsn: str) -> str:
    """A draft campaign named card-q1."""
    result = run_cli(
        db_dsn,
        "campaign",
        "create",
        "card-q1",
        "--kind",
        "card_renewal",
        "--caller-id",
        "95555",
    )
    assert result.exit_code == 0, result.output

    return "card-q1"


def contacts(dsn: str) -> dict[str, str]:
    """Phone -> name of every contact."""
    return {
        r["phone"]: r["name"] for r in fetch(dsn, "SELECT phone, name FROM contacts")
    }


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gbk", b"")],
    ids=["utf-8", "utf-8-bom", "gbk"],
)
def test_import_encodings_load_every_shape(
    db_dsn: str, campaign: str, tmp_path: Path, encoding: str, bom: bytes
):
    path = tmp_path / "list.csv"
    path.write_bytes(bom + (HEADER + GOOD_ROWS).encode(encoding))

    result = run_cli(db_dsn, "contacts", "import", campaign, str(path))

    assert result.exit_code == 0, result.output
    assert contacts(db_dsn) == EXPECTED
    assert "bad rows" in result.stdout
    assert not (tmp_path / "list.csv.errors.csv").exists()


def test_import_keeps_other_columns_as_fields(
    db_dsn: str, campaign: str, tmp_path: Path
):
    path = tmp_path / "list.csv"
    path.write_text(HEADER + GOOD_ROWS, encoding="utf-8")

    run_cli(db_dsn, "contacts", "import", campaign, str(path))

    [row] = fetch(
        db_dsn,
        "SELECT fields::text, source_line FROM contacts WHERE phone = '+8613900139000'",
    )
    assert row["fields"] == '{"branch": "上海分行", "account": "6222002"}'
    assert row["source_line"] == 3


def test_import_bad_rows_reported_by_line_while_good_rows_load(
    db_dsn: str, campaign: str, tmp_path: Path
):
    path = tmp_path / "list.csv"
    path.write_text(
        HEADER
        + GOOD_ROWS  # lines 2-6
        + "12345,坏号,1,x\n"  # 7
        + ",无号,2,x\n"  # 8
        + "13500135000,列少\n"  # 9
        + "\n"  # 10: blank, skipped
        + "13400134000,好,3,x\n"  # 11
        + '"13300133000","多,列",4,x,extra\n',  # 12
        encoding="utf-8",
    )

    result = run_cli(db_dsn, "contacts", "import", campaign, str(path))

    report = (tmp_path / "list.csv.errors.csv").read_text("utf-8-sig").splitlines()
    assert result.exit_code == 0
    assert set(contacts(db_dsn)) == {*EXPECTED, "+8613400134000"}
    assert "invalid phone number '12345'" in result.stdout
    assert [line.split(",")[0] for line in report[1:]] == ["7", "8", "9", "12"]
    assert "no phone number in column 'phone'" in report[2]
    assert "expected 4 columns, found 2" in report[3]


def test_import_duplicates_merged_in_file_and_with_campaign(
    db_dsn: str, campaign: str, tmp_path: Path
):
    first = tmp_path / "first.csv"
    first.write_text(
        HEADER + "13800138000,张三,1,x\n+86 138 0013 8000,重复,2,x\n", encoding="utf-8"
    )
    second = tmp_path / "second.csv"
    second.write_text(
        HEADER + "0086-13800138000,再来,3,x\n13900139000,李四,4,x\n", encoding="utf-8"
    )

    one = run_cli(db_dsn, "contacts", "import", campaign, str(first))
    two = run_cli(db_dsn, "contacts", "import", campaign, str(second))

    assert contacts(db_dsn) == {"+8613800138000": "张三", "+8613900139000": "李四"}
    assert "within the file         │     1" in one.stdout
    assert "already in the campaign │     1" in two.stdout
    assert "loaded                    │     1" in two.stdout


def test_import_missing_phone_column_loads_nothing(
    db_dsn: str, campaign: str, tmp_path: Path
):
    path = tmp_path / "list.csv"
    path.write_text("tel,name\n13800138000,张三\n", encoding="utf-8")

    result = run_cli(db_dsn, "contacts", "import", campaign, str(path))

    assert result.exit_code == 1
    assert "no phone column in the header" in result.output
    assert "columns: tel, name" in result.output
    assert contacts(db_dsn) == {}


def test_import_named_columns_and_time_zones(
    db_dsn: str, campaign: str, tmp_path: Path
):
    path = tmp_path / "list.csv"
    path.write_text(
        "手机号码,客户,tz\n13800138000,张三,Asia/Urumqi\n13900139000,李四,Moon/Base\n",
        encoding="utf-8",
    )

    result = run_cli(
        db_dsn, "contacts", "import", campaign, str(path),
        "--phone-column", "手机号码", "--name-column", "客户", "--timezone-column", "tz",
    )  # fmt: skip

    rows = fetch(db_dsn, "SELECT phone, name, timezone FROM contacts")
    assert [tuple(r) for r in rows] == [("+8613800138000", "张三", "Asia/Urumqi")]
    assert "unknown time zone 'Moon/Base'" in result.stdout


def test_import_wrong_explicit_encoding_loads_nothing(
    db_dsn: str, campaign: str, tmp_path: Path
):
    path = tmp_path / "list.csv"
    path.write_bytes((HEADER + GOOD_ROWS).encode("gbk"))

    result = run_cli(
        db_dsn, "contacts", "import", campaign, str(path), "--encoding", "utf-8"
    )

    assert result.exit_code == 1
    assert "list.csv is not utf-8-sig" in result.output
    assert contacts(db_dsn) == {}


def test_import_into_stopped_campaign_refused(
    db_dsn: str, campaign: str, tmp_path: Path
):
    path = tmp_path / "list.csv"
    path.write_text(HEADER + GOOD_ROWS, encoding="utf-8")
    run_cli(db_dsn, "campaign", "stop", campaign)

    result = run_cli(db_dsn, "contacts", "import", campaign, str(path))

    assert result.exit_code == 1
    assert "campaign 'card-q1' is stopped: no contacts can be added" in result.output


async def test_import_post_load_hook_sees_new_rows_in_transaction(
    pool: asyncpg.Pool, tmp_path: Path
):
    await create_campaign(pool, CampaignSpec("q1", "survey", "95555"), "t")
    path = tmp_path / "list.csv"
    path.write_text(HEADER + GOOD_ROWS, encoding="utf-8")
    seen: list[ImportContext] = []

    async def suppress_beijing(
        conn: asyncpg.Connection, ctx: ImportContext
    ) -> dict[str, int]:
        seen.append(ctx)
        status = await conn.execute(
            f"UPDATE contacts c SET state = 'suppressed' FROM {ctx.staging_table} s"
            " WHERE c.campaign_id = $1 AND c.phone = s.phone AND c.fields->>'branch' = '北京分行'",
            ctx.campaign.id,
        )
        return {"suppressed": int(status.split()[-1])}

    result = await import_contacts(
        pool, "q1", path, actor="ops", post_load=[suppress_beijing]
    )

    states = await pool.fetch(
        "SELECT state, count(*) FROM contacts GROUP BY state ORDER BY state"
    )
    assert [tuple(r) for r in states] == [("pending", 3), ("suppressed", 2)]
    assert result.extra == {"suppressed": 2}
    assert (seen[0].loaded, seen[0].actor) == (5, "ops")


async def test_import_failing_hook_loads_nothing(pool: asyncpg.Pool, tmp_path: Path):
    await create_campaign(pool, CampaignSpec("q1", "survey", "95555"), "t")
    path = tmp_path / "list.csv"
    path.write_text(HEADER + GOOD_ROWS, encoding="utf-8")

    async def broken(conn: asyncpg.Connection, ctx: ImportContext) -> None:
        raise ImportFileError("do-not-call list unavailable")

    with pytest.raises(ImportFileError, match="do-not-call list unavailable"):
        await import_contacts(pool, "q1", path, post_load=[broken])

    assert await pool.fetchval("SELECT count(*) FROM contacts") == 0


async def test_import_many_batches_loads_every_row(pool: asyncpg.Pool, tmp_path: Path):
    await create_campaign(pool, CampaignSpec("q1", "survey", "95555"), "t")
    path = tmp_path / "list.csv"
    path.write_text(
        HEADER + "".join(f"1380000{i:04d},n{i},{i},x\n" for i in range(2500)),
        encoding="utf-8",
    )

    result = await import_contacts(pool, "q1", path, batch_size=300)

    lines = await pool.fetch("SELECT source_line FROM contacts ORDER BY id")
    assert result.loaded == 2500
    assert [r[0] for r in lines] == list(range(2, 2502))


def test_import_errors_option_writes_report_there(
    db_dsn: str, campaign: str, tmp_path: Path
):
    path = tmp_path / "list.csv"
    path.write_text(HEADER + GOOD_ROWS + "abc,坏,1,x\n", encoding="utf-8")
    report = tmp_path / "reports" / "bad.csv"
    report.parent.mkdir()

    result = run_cli(
        db_dsn, "contacts", "import", campaign, str(path), "--errors", str(report)
    )

    assert result.exit_code == 0
    assert f"every bad row is in {report}" in result.stdout
    assert (
        report.read_text("utf-8-sig")
        .splitlines()[1]
        .startswith("7,invalid phone number 'abc'")
    )
    assert len(contacts(db_dsn)) == 5


def test_import_unknown_region_loads_nothing(
    db_dsn: str, campaign: str, tmp_path: Path
):
    path = tmp_path / "list.csv"
    path.write_text(HEADER + GOOD_ROWS, encoding="utf-8")

    result = run_cli(
        db_dsn, "contacts", "import", campaign, str(path), "--region", "XX"
    )

    assert result.exit_code == 1
    assert "unknown region 'XX'" in result.output
    assert contacts(db_dsn) == {}
