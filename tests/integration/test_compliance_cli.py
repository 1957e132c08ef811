"""The compliance commands (dnc, calendar, caller ids, why, waiting) end to end."""

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli
from engine.clock import SystemClock
from engine.compliance import callerids, dnc
from engine.compliance.calendar import set_date
from engine.compliance.callbacks import schedule_callback
from engine.compliance.explain import explain
from engine.compliance.gate import ComplianceGate
from engine.compliance.status import waiting_reasons
from engine.dialer.models import Campaign, Contact
from engine.settings import Settings, get_settings

Outdial = Callable[..., Result]
PHONE = "+8613800138000"
NIGHT = datetime(2026, 6, 9, 14, tzinfo=UTC)  # Tuesday 22:00 in Shanghai


@pytest.fixture
def outdial(db_dsn: str) -> Outdial:
    """The real CLI on the test database."""
    env = {
        "OUTDIAL_DATABASE_URL": db_dsn,
        "OUTDIAL_ACTOR": "compliance.li",
        "OUTDIAL_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }

    def invoke(*args: str) -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
        finally:
            get_settings.cache_clear()

    return invoke


async def _campaign_with_contact(pool: asyncpg.Pool) -> tuple[Campaign, Contact]:
    row = await pool.fetchrow(
        "INSERT INTO campaigns (name, kind, caller_id, state) VALUES"
        " ('q3', 'collections', '95555', 'running') RETURNING *"
    )
    contact = await pool.fetchrow(
        "INSERT INTO contacts (campaign_id, phone) VALUES ($1, $2) RETURNING *",
        row["id"],
        PHONE,
    )
    return Campaign.from_row(row), Contact.from_row(contact)


def test_dnc_add_check_remove_cycle(outdial: Outdial) -> None:
    added = outdial("dnc", "add", "138 0013 8000", "--source", "complaint")
    checked = outdial("dnc", "check", "13800138000", "--kind", "marketing")
    no_reason = outdial("dnc", "remove", "13800138000")
    removed = outdial("dnc", "remove", "13800138000", "--reason", "consent given")
    after = outdial("dnc", "check", "13800138000")

    assert added.exit_code == 0
    assert "suppressed +8613800138000 for all" in added.output
    assert "is SUPPRESSED for marketing: complaint (all)" in checked.output
    assert no_reason.exit_code == 2
    assert "Missing option '--reason'" in no_reason.output
    assert "removed +8613800138000 (all) from entry" in removed.output
    assert "is not suppressed for all" in after.output
    assert "consent given" in after.output


def test_dnc_add_bad_number_and_scope_refused(outdial: Outdial) -> None:
    bad_number = outdial("dnc", "add", "12345")
    bad_scope = outdial("dnc", "add", "13800138000", "--scope", "lottery")

    assert bad_number.exit_code == 2
    assert "'12345': not a valid number" in bad_number.output
    assert bad_scope.exit_code == 1
    assert "scope 'lottery' is neither 'all' nor a kind of call" in bad_scope.output


def test_dnc_import_reports_lines_and_exports(outdial: Outdial, tmp_path: Path) -> None:
    source = tmp_path / "regulator.txt"
    source.write_text("13800138000\n+8613900139000\nnot-a-number\n", encoding="utf-8")
    out = tmp_path / "out.csv"

    loaded = outdial("dnc", "import", str(source), "--reason", "register 2026-06")
    lists = outdial("dnc", "lists")
    exported = outdial("dnc", "export", str(out), "--reason", "regulator request")
    no_reason = outdial("dnc", "export", str(tmp_path / "x.csv"))

    assert loaded.exit_code == 0
    assert "3 lines: list 1 holds 2 numbers, 1 rejected" in loaded.output
    assert "line 3: not a phone number: 'not-a-number'" in loaded.output
    assert "regulator.txt" in lists.output
    assert "wrote 2 entries" in exported.output
    assert out.read_text().count("+86") == 2
    assert no_reason.exit_code == 2
    assert "--reason" in no_reason.output
    assert not (tmp_path / "x.csv").exists()


def test_callerid_and_calendar_commands(outdial: Outdial) -> None:
    approved = outdial("compliance", "callerid", "add", "4008001234", "--label", "cc")
    listed = outdial("compliance", "callerid", "list")
    revoked = outdial("compliance", "callerid", "revoke", "4008001234", "--reason", "x")
    closed = outdial(
        "compliance", "calendar", "close", "2026-06-15", "--reason", "system move"
    )
    holidays = outdial("compliance", "calendar", "holidays", "CN", "2026")

    assert approved.exit_code == 0
    assert "4008001234" in listed.output
    assert "revoked 4008001234" in revoked.output
    assert "2026-06-15 is closed for *" in closed.output
    assert "2026-02-14  Sat  makeup_workday" in holidays.output
    assert "Chinese New Year" in holidays.output


async def test_contacts_why_suppressed_number_not_dialable(
    outdial: Outdial, pool: asyncpg.Pool
) -> None:
    await _campaign_with_contact(pool)
    async with pool.acquire() as conn:
        await dnc.add_entry(
            conn,
            PHONE,
            scope="all",
            source="regulator",
            reason="",
            actor="t",
            now=datetime(2020, 1, 1, tzinfo=UTC),
        )

    result = await asyncio.to_thread(outdial, "contacts", "why", "q3", "138-0013-8000")

    assert result.output.startswith("not dialable now")
    assert "NO  dnc: on the do-not-call list: regulator (all) (final)" in result.output
    assert "ok  caller_id: caller id is approved" in result.output
    assert "zones: Asia/Shanghai (from the number); country CN" in result.output


async def test_dnc_export_audits_env_actor_and_refuses_operator(
    outdial: Outdial, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with pool.acquire() as conn:
        await dnc.add_entry(
            conn, PHONE, scope="all", source="manual", reason="", actor="t", now=NIGHT
        )
    await pool.execute(
        "INSERT INTO operators (id, name, role, password_hash, password_changed_at,"
        " password_expires_at) VALUES ('op.chen', 'Chen', 'operator', 'x', now(),"
        " now())"
    )
    out = tmp_path / "dnc.csv"

    done = await asyncio.to_thread(
        outdial, "dnc", "export", str(out), "--reason", "regulator request"
    )
    refused = await asyncio.to_thread(
        outdial,
        "dnc",
        "export",
        str(tmp_path / "no.csv"),
        "--reason",
        "curious",
        "--actor",
        "op.chen",
    )
    audit = await pool.fetch(
        "SELECT actor, details FROM audit_log WHERE action = 'dnc_exported'"
    )

    assert "wrote 1 entries" in done.output
    assert [(r["actor"], r["details"]["rows"]) for r in audit] == [("compliance.li", 1)]
    assert audit[0]["details"]["destination"] == str(out.resolve())
    assert refused.exit_code == 1
    assert "'op.chen' may not export the do-not-call list" in refused.output
    assert not (tmp_path / "no.csv").exists()


async def test_explain_at_night_names_window_and_opening(pool: asyncpg.Pool) -> None:
    await _campaign_with_contact(pool)
    async with pool.acquire() as conn:
        answer = await explain(conn, "q3", "13800138000", NIGHT, Settings())

    text = answer.render()
    assert not answer.dialable
    assert (
        "NO  window: outside the calling window (Asia/Shanghai);"
        " may pass at 2026-06-10T01:00:00+00:00" in text
    )
    assert "local time in Asia/Shanghai: Tue 2026-06-09 22:00, ordinary" in text


async def test_waiting_reasons_count_gate_holds(pool: asyncpg.Pool) -> None:
    campaign, contact = await _campaign_with_contact(pool)
    async with pool.acquire() as conn:
        decision = await ComplianceGate(Settings()).check(
            conn, campaign, contact, NIGHT, "lease"
        )
        await conn.execute(
            "UPDATE contacts SET next_attempt_at = $1", decision.retry_at
        )

        reasons = await waiting_reasons(conn, campaign.id, NIGHT)

    assert reasons == {"window": 1}


def _reasons(output: str) -> dict[str, int]:
    """The rows of the 'contacts by reason' table in rich's text output."""
    table = output.split("contacts by reason (now)", 1)[1]
    found = re.findall(r"^[│|] ([a-z_]+) +[│|] +(\d+) [│|]$", table, re.MULTILINE)

    return {reason: int(count) for reason, count in found}


async def _seed_waiting(pool: asyncpg.Pool) -> None:
    """Five contacts: outside the window, suppressed, retry, callback, due."""
    now = SystemClock().now()
    shanghai = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    phones = [f"+86138001380{n:02d}" for n in range(5)]
    async with pool.acquire() as conn:
        await callerids.approve(conn, "95555", label="", actor="t")
        row = await conn.fetchrow("SELECT * FROM campaigns WHERE name = 'w1'")
        ids = [
            await conn.fetchval(
                "INSERT INTO contacts (campaign_id, phone, timezone)"
                " VALUES ($1, $2, 'Asia/Shanghai') RETURNING id",
                row["id"],
                phone,
            )
            for phone in phones
        ]
        # Today and the next two days closed: the window refuses whatever the
        # hour, and the dialer's reschedule is done as it would be.
        for offset in range(3):
            await set_date(
                conn, shanghai + timedelta(days=offset), "closed", reason="t", actor="t"
            )
        contact = await conn.fetchrow("SELECT * FROM contacts WHERE id = $1", ids[0])
        decision = await ComplianceGate(Settings()).check(
            conn, Campaign.from_row(row), Contact.from_row(contact), now, "lease"
        )
        await conn.execute(
            "UPDATE contacts SET next_attempt_at = $2 WHERE id = $1",
            ids[0],
            decision.retry_at,
        )
        await dnc.add_entry(
            conn, phones[1], scope="all", source="manual", reason="", actor="t", now=now
        )
        await conn.execute(
            "UPDATE contacts SET attempts = 1, next_attempt_at = $2 WHERE id = $1",
            ids[2],
            now + timedelta(minutes=10),
        )
        await schedule_callback(conn, ids[3], now + timedelta(hours=2), actor="t")


async def test_campaign_status_counts_contacts_per_waiting_reason(
    outdial: Outdial, pool: asyncpg.Pool
) -> None:
    await asyncio.to_thread(
        outdial, "campaign", "create", "w1", "--kind", "survey", "--caller-id", "95555"
    )
    await _seed_waiting(pool)

    status_ = await asyncio.to_thread(outdial, "campaign", "status", "w1")
    shown = await asyncio.to_thread(outdial, "campaign", "show", "w1")

    expected = {"window": 1, "dnc": 1, "retry": 1, "callback": 1, "due": 1}
    assert status_.exit_code == 0
    assert _reasons(status_.output) == expected
    assert _reasons(shown.output) == expected


async def test_campaign_status_watch_shows_waiting_reasons(
    outdial: Outdial, pool: asyncpg.Pool
) -> None:
    await asyncio.to_thread(
        outdial, "campaign", "create", "w1", "--kind", "survey", "--caller-id", "95555"
    )
    await _seed_waiting(pool)
    await pool.execute("UPDATE campaigns SET state = 'stopped'")

    watched = await asyncio.to_thread(
        outdial, "campaign", "status", "w1", "--watch", "--interval", "0"
    )

    assert watched.exit_code == 0
    assert _reasons(watched.output) == {
        "window": 1,
        "dnc": 1,
        "retry": 1,
        "callback": 1,
        "due": 1,
    }


def test_policy_narrows_window_refuses_wider(outdial: Outdial) -> None:
    outdial("campaign", "create", "p1", "--kind", "marketing", "--caller-id", "95555")

    narrowed = outdial(
        "compliance",
        "policy",
        "p1",
        "--window",
        "mon-fri 10:00-11:30",
        "--per-day",
        "1",
    )
    wider = outdial("compliance", "policy", "p1", "--window", "sat 10:00-11:00")
    too_many = outdial("compliance", "policy", "p1", "--per-day", "9")
    shown = outdial("compliance", "policy", "p1")

    assert narrowed.exit_code == 0
    assert "max_attempts_per_day: 1" in narrowed.output
    assert wider.exit_code == 1
    assert "campaign window sat 10:00-11:00 is outside" in wider.output
    assert "max_attempts_per_day must be between 1 and 2, not 9" in too_many.output
    assert "calling_window: mon 10:00-11:30; tue 10:00-11:30" in shown.output
