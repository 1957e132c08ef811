"""The director's ``outdial campaign`` commands against a real database."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner, Result

from engine.campaigns.models import CampaignState
from engine.campaigns.notify import CampaignEvent, campaign_events
from engine.cli.main import cli
from engine.settings import get_settings

Outdial = Callable[..., Result]


@pytest.fixture
def outdial(db_dsn: str) -> Outdial:
    """Run the real ``outdial`` CLI with OUTDIAL_DATABASE_URL on the test database."""
    runner = CliRunner()
    env = {
        "OUTDIAL_DATABASE_URL": db_dsn,
        "OUTDIAL_ACTOR": "director.wang",
        "OUTDIAL_LOG_LEVEL": "WARNING",
    }

    def invoke(*args: str) -> Result:
        get_settings.cache_clear()
        try:
            return runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        finally:
            get_settings.cache_clear()

    return invoke


def offline(*args: str) -> Result:
    """Run the CLI with a database URL nothing listens on."""
    env = {"OUTDIAL_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}
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


def create(outdial: Outdial, name: str = "card-q1", *extra: str) -> Result:
    """Create a campaign with the usual director's options."""
    result = outdial(
        "campaign", "create", name, "--kind", "card_renewal", "--caller-id", "95555",
        "--max-concurrent", "20", "--cps", "2.5", "--ring-timeout", "25",
        "--max-attempts", "4", "--retry", "busy=300", "--retry", "no_answer=30m",
        *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    return result


def test_campaign_create_stores_settings_and_audits(outdial: Outdial, db_dsn: str):
    result = create(outdial)

    [row] = fetch(db_dsn, "SELECT * FROM campaigns")
    [entry] = fetch(db_dsn, "SELECT * FROM audit_log WHERE action = 'campaign_created'")
    assert "created campaign 'card-q1'" in result.stdout
    assert (row["kind"], row["state"], row["max_concurrent"]) == (
        "card_renewal",
        "draft",
        20,
    )
    assert (
        float(row["calls_per_second"]),
        row["ring_timeout_s"],
        row["max_attempts"],
    ) == (2.5, 25, 4)
    assert row["retry_delays"] == '{"busy": 300, "no_answer": 1800}'
    assert (entry["actor"], entry["object_id"]) == ("director.wang", str(row["id"]))


def test_campaign_create_unknown_kind_fails_before_any_database():
    result = offline(
        "campaign", "create", "x", "--kind", "lottery", "--caller-id", "95555"
    )

    assert result.exit_code == 1
    assert "unknown kind of call 'lottery'" in result.output


def test_campaign_create_same_name_twice_refused(outdial: Outdial):
    create(outdial)

    result = outdial(
        "campaign", "create", "card-q1", "--kind", "survey", "--caller-id", "95566"
    )

    assert result.exit_code == 1
    assert "a campaign named 'card-q1' exists already" in result.output


def test_campaign_create_bad_retry_syntax_refused():
    result = offline(
        "campaign", "create", "x", "--kind", "survey", "--caller-id", "95555",
        "--retry", "busy",
    )  # fmt: skip

    assert result.exit_code == 2
    assert "'busy' is not OUTCOME=SECONDS" in result.output


def test_campaign_list_and_show_print_tables(outdial: Outdial, db_dsn: str):
    create(outdial, "card-q1")
    create(outdial, "fraud-dec")
    fetch(
        db_dsn,
        "INSERT INTO contacts (campaign_id, phone, state) VALUES"
        " (2, '+8613800138000', 'pending'), (2, '+8613800138001', 'done'),"
        " (2, '+8613800138002', 'leased')",
    )

    listing = outdial("campaign", "list")
    shown = outdial("campaign", "show", "fraud-dec")

    rows = {
        cells[1]: cells
        for line in listing.stdout.splitlines()
        if len(cells := [c.strip() for c in line.split("│")[1:-1]]) == 8
    }
    assert listing.exit_code == 0
    assert rows["card-q1"][2:6] == ["card_renewal", "draft", "0", "0"]
    assert rows["fraud-dec"][4:6] == ["3", "2"]
    assert "no_answer after 1800s" in shown.stdout
    assert "Asia/Shanghai" in shown.stdout


def test_campaign_show_unknown_name_fails_clearly(outdial: Outdial):
    result = outdial("campaign", "show", "nope")

    assert result.exit_code == 1
    assert "no campaign named 'nope'" in result.output


def test_campaign_lifecycle_moves_and_audits_with_reason(outdial: Outdial, db_dsn: str):
    create(outdial)
    steps = [
        ("start", "running"),
        ("pause", "paused"),
        ("resume", "running"),
        ("stop", "stopped"),
    ]

    outputs = [
        outdial("campaign", action, "card-q1", "--reason", f"r-{action}")
        for action, _ in steps
    ]

    audit = fetch(
        db_dsn,
        "SELECT action, details FROM audit_log WHERE action <> 'campaign_created' ORDER BY id",
    )
    [row] = fetch(db_dsn, "SELECT state, state_reason FROM campaigns")
    assert [o.stdout.strip() for o in outputs] == [
        f"campaign 'card-q1' is {s}" for _, s in steps
    ]
    assert [a["action"] for a in audit] == [f"campaign_{action}" for action, _ in steps]
    assert '"before": "paused"' in audit[2]["details"]
    assert (row["state"], row["state_reason"]) == ("stopped", "r-stop")


def test_campaign_illegal_transitions_refused_state_kept(outdial: Outdial, db_dsn: str):
    create(outdial)

    def refused(*actions: str) -> list[str]:
        results = [outdial("campaign", action, "card-q1") for action in actions]
        assert [r.exit_code for r in results] == [1] * len(actions)
        return [r.output.strip() for r in results]

    in_draft = refused("pause", "resume")
    outdial("campaign", "start", "card-q1")
    in_running = refused("start", "resume")
    outdial("campaign", "stop", "card-q1")
    in_stopped = refused("resume", "start", "stop", "pause")

    prefix = "Error: cannot {} campaign 'card-q1': it is {}"
    assert [m.split(" (")[0] for m in in_draft + in_running + in_stopped] == [
        prefix.format("pause", "draft"),
        prefix.format("resume", "draft"),
        prefix.format("start", "running"),
        prefix.format("resume", "running"),
        prefix.format("resume", "stopped"),
        prefix.format("start", "stopped"),
        prefix.format("stop", "stopped"),
        prefix.format("pause", "stopped"),
    ]
    assert "(resume needs a campaign that is paused)" in in_draft[1]
    assert fetch(db_dsn, "SELECT state FROM campaigns")[0][0] == "stopped"


def test_campaign_status_counts_contacts_and_outcomes(outdial: Outdial, db_dsn: str):
    create(outdial)
    fetch(
        db_dsn,
        "INSERT INTO contacts (campaign_id, phone, state) SELECT 1, '+861380013800' || g,"
        " (ARRAY['pending','done','done','exhausted'])[g % 4 + 1] FROM generate_series(0, 7) g",
    )

    fetch(
        db_dsn,
        "INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,"
        " caller_id, dial_string, engine_id, lease_expires_at, state, outcome)"
        " SELECT 'a' || id, 1, id, 1, phone, '95555', 'PJSIP/x@trunk', 'e1', now(),"
        " CASE WHEN id < 3 THEN 'ended' ELSE 'ringing' END,"
        " CASE WHEN id < 3 THEN 'busy' END FROM contacts WHERE id < 5",
    )

    result = outdial("campaign", "status", "card-q1")

    assert result.exit_code == 0
    assert "6/8 settled (75.0%)" in result.stdout
    assert "calls in progress: 2" in result.stdout
    assert "busy" in result.stdout


def test_campaign_status_watch_ends_when_campaign_stops(outdial: Outdial, db_dsn: str):
    """A separate process, so that its output is not mixed with CliRunner's."""
    create(outdial)
    outdial("campaign", "start", "card-q1")
    command = [str(Path(sys.executable).with_name("outdial")), "campaign", "status"]
    env = os.environ | {"OUTDIAL_DATABASE_URL": db_dsn, "OUTDIAL_LOG_LEVEL": "WARNING"}

    with subprocess.Popen(
        [*command, "card-q1", "--watch", "--interval", "0.05"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as watcher:
        outdial("campaign", "stop", "card-q1")
        output, _ = watcher.communicate(timeout=60)

    assert watcher.returncode == 0
    assert "card-q1 stopped" in output


async def test_campaign_pause_notifies_listener(outdial: Outdial, db_dsn: str):
    await asyncio.to_thread(create, outdial)
    await asyncio.to_thread(outdial, "campaign", "start", "card-q1")

    async with campaign_events(db_dsn) as queue:
        await asyncio.to_thread(outdial, "campaign", "pause", "card-q1")
        event = await asyncio.wait_for(queue.get(), timeout=10)

    assert event == CampaignEvent(1, CampaignState.PAUSED)


def test_campaign_list_unreachable_database_fails_clearly():
    result = offline("campaign", "list")

    assert result.exit_code == 1
    assert "cannot reach the database" in result.output


@pytest.mark.parametrize("cps", ["0", "NaN", "inf", "5000"])
def test_campaign_create_cps_out_of_range_refused(cps: str):
    result = offline(
        "campaign",
        "create",
        "x",
        "--kind",
        "survey",
        "--caller-id",
        "95555",
        "--cps",
        cps,
    )

    assert result.exit_code == 1
    assert "calls per second must be 0.001 to 1000" in result.output
