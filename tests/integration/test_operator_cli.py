"""``outdial operator`` and ``outdial supervise list`` against the real Postgres."""

import asyncio
import json
from collections.abc import Iterator

import asyncpg
import pytest
from click.testing import CliRunner

from engine.cli.main import cli
from engine.settings import get_settings


@pytest.fixture
def runner(db_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("OUTDIAL_DATABASE_URL", db_dsn)
    monkeypatch.setenv("OUTDIAL_LOG_FORMAT", "json")
    monkeypatch.setenv("OUTDIAL_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _ok(runner: CliRunner, *args: str, stdin: str | None = None) -> str:
    result = runner.invoke(cli, list(args), input=stdin)
    assert result.exit_code == 0, result.output

    return result.output


def test_operator_cli_add_lock_unlock_list(runner: CliRunner) -> None:
    _ok(
        runner,
        *("operator", "add", "op7", "--name", "Chen Jie", "--endpoint", "PJSIP/6007"),
        *("--team", "north", "--password-stdin"),
        stdin="a first password 1\n",
    )
    _ok(runner, "operator", "lock", "op7", "--reason", "left the bank")
    locked = _ok(runner, "operator", "list")
    _ok(runner, "operator", "unlock", "op7")
    _ok(
        runner,
        "operator",
        "passwd",
        "op7",
        "--password-stdin",
        stdin="another one 22\n",
    )
    unlocked = _ok(runner, "operator", "list")

    assert "op7" in locked
    assert "locked" in locked
    assert "PJSIP/6007" in unlocked
    assert "must change" in unlocked


def test_operator_cli_bad_input_clear_error(runner: CliRunner) -> None:
    short = runner.invoke(
        cli,
        ["operator", "add", "op8", "--name", "X", "--password-stdin"],
        input="short\n",
    )
    missing = runner.invoke(cli, ["operator", "unlock", "nobody"])
    role = runner.invoke(
        cli, ["operator", "add", "op9", "--name", "Y", "--role", "king"], input="x\n"
    )

    assert short.exit_code == 1
    assert "at least 10 characters" in short.output
    assert missing.exit_code == 1
    assert "no operator 'nobody'" in missing.output
    assert role.exit_code == 2
    assert _ok(runner, "supervise", "list").count("\n") >= 1


async def _campaign(db_dsn: str) -> None:
    conn = await asyncpg.connect(db_dsn)
    try:
        await conn.execute(
            "INSERT INTO campaigns (name, kind, caller_id, state)"
            " VALUES ('renewals', 'card_renewal', '95555', 'running')"
        )
    finally:
        await conn.close()


def test_operator_cli_campaign_settings_and_board(
    runner: CliRunner, db_dsn: str
) -> None:
    asyncio.run(_campaign(db_dsn))

    _ok(
        runner,
        *("operator", "campaign", "renewals", "--ratio", "1.5", "--wrap-up", "20"),
        *("--complaints-max", "3", "--complaints-window", "30"),
    )
    shown = _ok(runner, "operator", "board")
    missing = runner.invoke(cli, ["operator", "campaign", "nope", "--ratio", "2"])

    settings = asyncio.run(_settings(db_dsn))
    assert settings["operators"] == {
        "enabled": True,
        "ratio": 1.5,
        "wrap_up_s": 20.0,
        "complaints": {"max": 3, "window_min": 30.0},
    }
    assert "renewals" in shown
    assert "open escalations: 0" in shown
    assert missing.exit_code == 1
    assert "no campaign named 'nope'" in missing.output


async def _settings(db_dsn: str) -> dict[str, object]:
    conn = await asyncpg.connect(db_dsn)
    try:
        raw = await conn.fetchval("SELECT settings::text FROM campaigns")
    finally:
        await conn.close()

    return json.loads(raw)
