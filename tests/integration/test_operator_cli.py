"""``outdial operator`` and ``outdial supervise list`` against the real Postgres."""

from collections.abc import Iterator

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
