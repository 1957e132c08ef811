"""
``outdial report`` end to end: tables on the terminal, files on disk, refusals.
"""

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import openpyxl
import pytest
from click.testing import CliRunner

from engine.cli.main import cli
from engine.reports.crypto import read_aes_zip
from engine.settings import get_settings

SEED = Path(__file__).with_name("report_seed.sql")


async def _seed(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SEED.read_text())
    finally:
        await conn.close()


@pytest.fixture
def runner(db_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A CLI runner pointed at a seeded database."""
    asyncio.run(_seed(db_dsn))
    monkeypatch.setenv("OUTDIAL_DATABASE_URL", db_dsn)
    monkeypatch.setenv("OUTDIAL_LOG_FORMAT", "json")
    monkeypatch.setenv("COLUMNS", "160")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_report_table_by_operator_shows_figures(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["report", "Cards", "--by", "operator", "--actor", "root"]
    )

    assert result.exit_code == 0, result.output
    assert "alice" in result.output
    assert "209.0" in result.output


def test_report_xlsx_encrypted_written_as_zip(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "cards.xlsx"
    result = runner.invoke(
        cli,
        [
            "report",
            "Cards",
            "--format",
            "xlsx",
            "--out",
            str(out),
            "--calls",
            "--encrypt",
            "--password-env",
            "ZIP_PW",
            "--actor",
            "root",
        ],
        env={"ZIP_PW": "long-enough-pw"},
    )
    members = read_aes_zip((tmp_path / "cards.xlsx.zip").read_bytes(), "long-enough-pw")
    book = openpyxl.load_workbook(io.BytesIO(members["cards.xlsx"]))

    assert result.exit_code == 0, result.output
    assert not out.exists()
    assert book["Calls"]["C2"].value == "'+861******0001"


def test_report_unmasked_by_operator_refused(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli,
        [
            "report",
            "Cards",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "x.csv"),
            "--unmasked",
            "--reason",
            "because I want to see it",
            "--actor",
            "alice",
        ],
    )

    assert result.exit_code != 0
    assert "alice may not export unmasked customer data" in result.output
    assert not (tmp_path / "x.csv").exists()


def test_report_unknown_actor_refused(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["report", "Cards", "--actor", "mallory"])

    assert result.exit_code != 0
    assert "mallory may not read reports: no such account" in result.output


def test_recordings_verify_altered_file_exits_nonzero(
    runner: CliRunner, db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wav = tmp_path / "000001-a1.wav"
    wav.write_bytes(b"RIFF changed")

    async def archive() -> None:
        conn = await asyncpg.connect(db_dsn)
        await conn.execute(
            "UPDATE recordings SET state = 'archived', archive_path = $1,"
            " sha256 = repeat('0', 64), size_bytes = 12 WHERE id = 1",
            str(wav),
        )
        await conn.close()

    asyncio.run(archive())
    monkeypatch.setenv("OUTDIAL_RECORDINGS_DIR", str(tmp_path))
    get_settings.cache_clear()
    result = runner.invoke(cli, ["recordings", "verify"])

    assert result.exit_code == 1
    assert "altered #000001" in result.output
    assert "checked 1: 0 missing, 1 altered, 0 unexpected" in result.output


def test_audit_command_lists_exports_by_actor(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "r.csv"
    runner.invoke(
        cli,
        ["report", "Cards", "--format", "csv", "--out", str(out), "--actor", "dora"],
    )
    result = runner.invoke(cli, ["audit", "--actor", "dora", "--since", "1d", "--json"])

    assert result.exit_code == 0, result.output
    assert '"action": "report_exported"' in result.output
    assert '"object_id": "1"' in result.output


def test_quality_form_and_report_commands(runner: CliRunner) -> None:
    made = runner.invoke(
        cli,
        [
            "quality",
            "form",
            "Cards",
            "--name",
            "QA",
            "--pass-mark",
            "70",
            "--criterion",
            "greeting:1:5",
            "--criterion",
            "resolution:2",
            "--actor",
            "dora",
        ],
    )
    refused = runner.invoke(
        cli,
        [
            "quality",
            "form",
            "Cards",
            "--name",
            "Mine",
            "--pass-mark",
            "70",
            "--criterion",
            "x:1",
            "--actor",
            "alice",
        ],
    )
    shown = runner.invoke(cli, ["quality", "report", "Cards", "--actor", "alice"])

    assert made.exit_code == 0, made.output
    assert "2 criteria, pass mark 70" in made.output
    assert refused.exit_code != 0
    assert "alice may not create evaluation forms" in refused.output
    assert shown.exit_code == 0, shown.output
