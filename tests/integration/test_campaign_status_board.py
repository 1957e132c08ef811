"""
``outdial campaign status`` shows the campaign's part of the live board.

The board (operators, calls in progress) is what ``outdial operator board``
draws, narrowed to one campaign: its calls, and the logged-in operators who
work it or any campaign.
"""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
from click.testing import CliRunner, Result

from engine.cli.main import cli
from engine.settings import get_settings

SEED = """
INSERT INTO campaigns (id, name, kind, caller_id, state, settings) VALUES
  (1, 'cards', 'card_renewal', '95555', 'running', '{"operators": {}}'),
  (2, 'loans', 'collections', '95555', 'running', '{"operators": {}}'),
  (3, 'quiet', 'greeting', '95555', 'draft', '{}');
SELECT setval('campaigns_id_seq', 3);
INSERT INTO contacts (id, campaign_id, phone) VALUES
  (1, 1, '+8613800138001'), (2, 2, '+8613800138002');
INSERT INTO operators (id, name, role, endpoint, password_hash,
                       password_changed_at, password_expires_at) VALUES
  ('mei', 'Mei', 'operator', 'PJSIP/6001', 'x', now(), now() + interval '9 days'),
  ('jun', 'Jun', 'operator', 'PJSIP/6002', 'x', now(), now() + interval '9 days'),
  ('lan', 'Lan', 'operator', 'PJSIP/6003', 'x', now(), now() + interval '9 days'),
  ('bo', 'Bo', 'operator', 'PJSIP/6004', 'x', now(), now() + interval '9 days');
INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,
    caller_id, dial_string, engine_id, lease_expires_at, state) VALUES
  ('call-cards-1', 1, 1, 1, '+8613800138001', '95555', 'PJSIP/x@trunk', 'e1',
   now(), 'answered'),
  ('call-loans-1', 2, 2, 1, '+8613800138002', '95555', 'PJSIP/y@trunk', 'e1',
   now(), 'ringing');
INSERT INTO operator_sessions (operator_id, campaign_id, state, state_since,
    idle_since, channel_id, call_id, pause_reason, calls_taken, ended_at) VALUES
  ('mei', 1, 'on_call', now(), NULL, 'op-1', 'call-cards-1', NULL, 3, NULL),
  ('jun', NULL, 'paused', now(), NULL, 'op-2', NULL, 'coffee break', 1, NULL),
  ('lan', 2, 'ready', now(), now(), 'op-3', NULL, NULL, 0, NULL),
  ('bo', 1, 'logged_out', now(), NULL, NULL, NULL, NULL, 5, now());
"""


def _seed(dsn: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(SEED)
        finally:
            await conn.close()

    asyncio.run(go())


def _status(dsn: str, name: str) -> Result:
    env = {
        "OUTDIAL_DATABASE_URL": dsn,
        "OUTDIAL_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(
            cli, ["campaign", "status", name], env=env, catch_exceptions=False
        )
    finally:
        get_settings.cache_clear()


def _line(output: str, word: str) -> str:
    return next(line for line in output.splitlines() if f" {word} " in line)


def test_campaign_status_lists_logged_in_operators_and_calls(db_dsn: str) -> None:
    _seed(db_dsn)

    result = _status(db_dsn, "cards")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "operators" in out
    assert "on_call" in _line(out, "mei")
    assert "call-cards-1" in _line(out, "mei")
    assert "paused" in _line(out, "jun")
    assert "coffee break" in _line(out, "jun")
    # lan works another campaign; bo has logged out
    assert " lan " not in out
    assert " bo " not in out
    assert "call-cards-1" in _line(out, "answered")
    assert "call-loans-1" not in out
    assert "+8613800138001" not in out


def test_campaign_status_without_operators_or_calls_shows_progress_only(
    db_dsn: str,
) -> None:
    _seed(db_dsn)
    asyncio.run(_end_sessions(db_dsn))

    result = _status(db_dsn, "quiet")

    assert result.exit_code == 0, result.output
    assert "quiet draft" in result.stdout
    assert "operators" not in result.stdout


async def _end_sessions(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "UPDATE operator_sessions SET state = 'logged_out', ended_at = now()"
        )
    finally:
        await conn.close()


def test_campaign_status_watch_shows_operator_state(db_dsn: str) -> None:
    """A separate process: --watch redraws until the campaign ends."""
    _seed(db_dsn)
    outdial = str(Path(sys.executable).with_name("outdial"))
    env = os.environ | {
        "OUTDIAL_DATABASE_URL": db_dsn,
        "OUTDIAL_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }
    with subprocess.Popen(
        [outdial, "campaign", "status", "cards", "--watch", "--interval", "0.05"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as watcher:
        subprocess.run(
            [outdial, "campaign", "stop", "cards", "--actor", "director.wang"],
            env=env,
            check=True,
            capture_output=True,
        )
        output, _ = watcher.communicate(timeout=60)

    assert watcher.returncode == 0
    assert "cards stopped" in output
    assert "on_call" in _line(output, "mei")
