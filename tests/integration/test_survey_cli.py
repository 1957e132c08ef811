"""``outdial operator survey``: a campaign's post-call question, from the CLI."""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli
from engine.operators.survey import SurveySettings, survey_settings
from engine.settings import get_settings


@pytest.fixture
def runner(db_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("OUTDIAL_DATABASE_URL", db_dsn)
    monkeypatch.setenv("OUTDIAL_LOG_LEVEL", "WARNING")
    asyncio.run(
        _sql(
            db_dsn,
            "INSERT INTO campaigns (name, kind, caller_id, settings) VALUES"
            " ('care', 'customer_care', '95555', '{\"operators\": {\"ratio\": 2}}')",
        )
    )
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


async def _sql(dsn: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()


def _settings(dsn: str) -> dict[str, Any]:
    rows = asyncio.run(_sql(dsn, "SELECT settings FROM campaigns"))
    # a bare connection: jsonb arrives as text
    settings: dict[str, Any] = json.loads(rows[0]["settings"])

    return settings


def _survey(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, ["operator", "survey", "care", *args, "--actor", "dir01"])


def test_survey_cli_sets_and_removes_campaign_survey(
    runner: CliRunner, db_dsn: str
) -> None:
    made = _survey(runner, "--prompt", "sound:rate-us", "--max-digit", "3")
    kept = _settings(db_dsn)
    off = _survey(runner, "--off")

    assert made.exit_code == 0, made.output
    assert survey_settings(kept) == SurveySettings("sound:rate-us", 3, 8.0)
    assert kept["operators"] == {"ratio": 2}
    assert off.exit_code == 0, off.output
    assert "survey" not in _settings(db_dsn)
    audited = asyncio.run(
        _sql(
            db_dsn,
            "SELECT actor FROM audit_log WHERE action = 'campaign_survey_set'",
        )
    )
    assert [r["actor"] for r in audited] == ["dir01", "dir01"]


def test_survey_cli_bad_input_named_nothing_changed(
    runner: CliRunner, db_dsn: str
) -> None:
    no_prompt = _survey(runner)
    bad_scale = _survey(runner, "--prompt", "sound:rate-us", "--max-digit", "12")
    unknown = runner.invoke(
        cli, ["operator", "survey", "nope", "--prompt", "sound:x", "--actor", "a"]
    )

    assert no_prompt.exit_code != 0
    assert "survey prompt must be a media uri" in no_prompt.output
    assert bad_scale.exit_code != 0
    assert "max_digit must be a whole number from 1 to 9" in bad_scale.output
    assert unknown.exit_code != 0
    assert "no campaign named 'nope'" in unknown.output
    assert "survey" not in _settings(db_dsn)
