"""The compliance gate against a real Postgres: each rule refuses and recovers."""

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from engine.compliance import callbacks, callerids, dnc
from engine.compliance.exceptions import CallerIdNotApprovedError, WindowError
from engine.compliance.gate import ComplianceGate
from engine.dialer.models import Campaign, Contact
from engine.settings import Settings

CALLER_ID = "95555"
# Wednesday 2026-06-10 10:00 in Shanghai
OPEN = datetime(2026, 6, 10, 2, tzinfo=UTC)


async def _campaign(conn: asyncpg.Connection, **overrides: Any) -> Campaign:
    values = {
        "name": "c",
        "kind": "collections",
        "caller_id": CALLER_ID,
        "max_attempts": 3,
        "settings": {},
    }
    values.update(overrides)
    row = await conn.fetchrow(
        "INSERT INTO campaigns (name, kind, caller_id, max_attempts, settings, state)"
        " VALUES ($1, $2, $3, $4, $5, 'running') RETURNING *",
        values["name"],
        values["kind"],
        values["caller_id"],
        values["max_attempts"],
        values["settings"],
    )
    return Campaign.from_row(row)


async def _contact(
    conn: asyncpg.Connection, campaign: Campaign, phone: str = "+8613800138000"
) -> Contact:
    row = await conn.fetchrow(
        "INSERT INTO contacts (campaign_id, phone, next_attempt_at) VALUES ($1, $2, $3)"
        " RETURNING *",
        campaign.id,
        phone,
        OPEN - timedelta(days=1),
    )
    return Contact.from_row(row)


@pytest.fixture
async def conn(pool: asyncpg.Pool) -> Any:
    async with pool.acquire() as c:
        await callerids.approve(c, CALLER_ID, label="main line", actor="test")
        yield c


def _gate(**settings: Any) -> ComplianceGate:
    return ComplianceGate(Settings(**settings))


async def test_gate_open_window_clean_number_allows(conn: asyncpg.Connection) -> None:
    campaign = await _campaign(conn)
    contact = await _contact(conn, campaign)

    decision = await _gate().check(conn, campaign, contact, OPEN, "originate")

    assert decision.allowed
    assert await conn.fetchval("SELECT count(*) FROM compliance_dials") == 1


async def test_gate_night_refuses_until_next_opening(conn: asyncpg.Connection) -> None:
    campaign = await _campaign(conn)
    contact = await _contact(conn, campaign)
    night = datetime(2026, 6, 9, 14, tzinfo=UTC)  # 22:00 Shanghai

    decision = await _gate().check(conn, campaign, contact, night, "lease")

    assert not decision.allowed
    assert not decision.final
    assert decision.retry_at == datetime(2026, 6, 10, 1, tzinfo=UTC)
    assert decision.reason.startswith("window: outside the calling window")
    audit = await conn.fetchrow("SELECT * FROM audit_log WHERE action = 'dial_refused'")
    assert audit["object_id"] == str(contact.id)
    assert audit["details"]["rules"] == ["window"]


async def test_gate_dnc_entry_mid_run_blocks_final(conn: asyncpg.Connection) -> None:
    campaign = await _campaign(conn)
    contact = await _contact(conn, campaign)
    gate = _gate()
    assert (await gate.check(conn, campaign, contact, OPEN, "lease")).allowed

    await dnc.record_refusal(conn, contact.phone, "collections", "op1", None, now=OPEN)
    decision = await gate.check(conn, campaign, contact, OPEN, "originate")

    assert not decision.allowed
    assert decision.final
    assert decision.closes_as == "suppressed"
    assert decision.reason.startswith("dnc: on the do-not-call list: customer_refusal")
    assert await conn.fetchval("SELECT count(*) FROM compliance_dials") == 0


async def test_gate_dnc_other_kind_or_expired_allows(conn: asyncpg.Connection) -> None:
    campaign = await _campaign(conn)
    contact = await _contact(conn, campaign)
    await dnc.add_entry(
        conn,
        contact.phone,
        scope="marketing",
        source="complaint",
        reason="",
        actor="t",
        now=OPEN,
    )
    await dnc.add_entry(
        conn,
        contact.phone,
        scope="all",
        source="regulator",
        reason="list",
        actor="t",
        now=OPEN - timedelta(days=10),
        expires_at=OPEN - timedelta(days=1),
    )

    decision = await _gate().check(conn, campaign, contact, OPEN, "lease")

    assert decision.allowed


async def test_gate_unapproved_caller_id_refuses(conn: asyncpg.Connection) -> None:
    campaign = await _campaign(conn, caller_id="4001234567")
    contact = await _contact(conn, campaign)

    decision = await _gate().check(conn, campaign, contact, OPEN, "originate")

    assert not decision.allowed
    assert decision.reason == "caller_id: caller id is not approved"
    with pytest.raises(CallerIdNotApprovedError):
        await callerids.check_campaign_can_start(conn, campaign)


async def test_gate_revoked_caller_id_stops_dialling(conn: asyncpg.Connection) -> None:
    campaign = await _campaign(conn)
    contact = await _contact(conn, campaign)
    await callerids.check_campaign_can_start(conn, campaign)

    await callerids.revoke(conn, CALLER_ID, reason="number ported", actor="t")

    assert not (await _gate().check(conn, campaign, contact, OPEN, "lease")).allowed


async def test_gate_attempt_limits_daily_then_total(conn: asyncpg.Connection) -> None:
    campaign = await _campaign(conn, max_attempts=3)
    contact = await _contact(conn, campaign)
    gate = _gate(max_attempts_per_day=2, min_call_gap_s=60)
    times = [OPEN, OPEN + timedelta(minutes=2), OPEN + timedelta(minutes=4)]

    results = [await gate.check(conn, campaign, contact, t, "originate") for t in times]

    assert [r.allowed for r in results] == [True, True, False]
    assert results[2].reason.startswith("daily: 2 of 2 calls today")
    assert results[2].retry_at == datetime(2026, 6, 11, 1, tzinfo=UTC)  # 09:00 next day
    next_day = await gate.check(
        conn, campaign, contact, results[2].retry_at, "originate"
    )
    assert next_day.allowed
    last = await gate.check(
        conn, campaign, contact, results[2].retry_at + timedelta(hours=1), "lease"
    )
    assert last.final
    assert last.closes_as == "exhausted"
    assert last.reason.startswith("attempts: 3 of 3")


async def test_gate_min_gap_across_campaigns(conn: asyncpg.Connection) -> None:
    first = await _campaign(conn, name="a")
    second = await _campaign(conn, name="b", kind="card_renewal")
    one, two = await _contact(conn, first), await _contact(conn, second)
    gate = _gate(min_call_gap_s=600)

    assert (await gate.check(conn, first, one, OPEN, "originate")).allowed
    refused = await gate.check(conn, second, two, OPEN + timedelta(minutes=5), "lease")

    assert not refused.allowed
    assert refused.retry_at == OPEN + timedelta(minutes=10)
    assert (await gate.check(conn, second, two, refused.retry_at, "originate")).allowed


async def test_gate_retry_delay_after_busy(conn: asyncpg.Connection) -> None:
    campaign = await _campaign(conn)
    contact = await _contact(conn, campaign)
    gate = _gate(min_call_gap_s=0)
    assert (await gate.check(conn, campaign, contact, OPEN, "originate")).allowed
    await conn.execute("UPDATE contacts SET last_outcome = 'busy'")

    refused = await gate.check(
        conn, campaign, contact, OPEN + timedelta(seconds=60), "lease"
    )

    assert refused.reason == "retry: waiting 300 s after busy"
    assert refused.retry_at == OPEN + timedelta(seconds=300)


async def test_gate_campaign_window_wider_than_kind_refuses(
    conn: asyncpg.Connection,
) -> None:
    campaign = await _campaign(conn, settings={"calling_window": "daily 06:00-23:00"})
    contact = await _contact(conn, campaign)

    decision = await _gate().check(conn, campaign, contact, OPEN, "lease")

    assert not decision.allowed
    assert "outside the institution's collections window" in decision.reason
    with pytest.raises(WindowError):
        await callerids.check_campaign_can_start(conn, campaign)


async def test_gate_callback_passes_attempt_limit_not_window(
    conn: asyncpg.Connection,
) -> None:
    campaign = await _campaign(conn, max_attempts=1)
    contact = await _contact(conn, campaign)
    gate = _gate(min_call_gap_s=0)
    assert (await gate.check(conn, campaign, contact, OPEN, "originate")).allowed
    night = datetime(2026, 6, 10, 14, tzinfo=UTC)  # 22:00 Shanghai
    await callbacks.schedule_callback(
        conn, contact.id, night, actor="op1", operator="op1"
    )

    at_night = await gate.check(conn, campaign, contact, night, "lease")
    morning = at_night.retry_at
    assert morning is not None
    called_back = await gate.check(conn, campaign, contact, morning, "originate")

    assert at_night.reason.startswith("window:")
    assert morning == datetime(2026, 6, 11, 1, tzinfo=UTC)
    assert called_back.allowed
    assert await conn.fetchval("SELECT state FROM callbacks") == "done"


async def test_gate_unknown_zone_counted_as_fallback(conn: asyncpg.Connection) -> None:
    campaign = await _campaign(conn)
    contact = await _contact(conn, campaign, phone="+447700900123")

    await _gate().check(conn, campaign, contact, OPEN, "lease")

    reason = await conn.fetchval("SELECT reason FROM contact_zone_fallbacks")
    assert reason == "the number maps to no time zone"


async def test_campaign_start_unapproved_caller_id_refused(
    conn: asyncpg.Connection,
) -> None:
    from engine.campaigns.models import CampaignSpec
    from engine.campaigns.repository import change_state, create_campaign

    await create_campaign(conn, CampaignSpec("q", "survey", "4001234567"), "t")
    with pytest.raises(CallerIdNotApprovedError):
        await change_state(conn, "q", "start", "t")
    assert await conn.fetchval("SELECT state FROM campaigns") == "draft"

    await callerids.approve(conn, "4001234567", label="survey line", actor="t")
    started = await change_state(conn, "q", "start", "t")

    assert started.state == "running"


async def test_callback_during_call_survives_call_end(conn: asyncpg.Connection) -> None:
    campaign = await _campaign(conn)
    contact = await _contact(conn, campaign)
    await conn.execute("UPDATE contacts SET state = 'leased'")
    due = OPEN + timedelta(days=1)
    await callbacks.schedule_callback(conn, contact.id, due, actor="op1")

    await conn.execute("UPDATE contacts SET state = 'done', lease_owner = NULL")

    row = await conn.fetchrow("SELECT state, next_attempt_at FROM contacts")
    assert (row["state"], row["next_attempt_at"]) == ("pending", due)


async def test_gate_campaign_cannot_loosen_institution_limits(
    conn: asyncpg.Connection,
) -> None:
    campaign = await _campaign(
        conn, settings={"max_attempts_per_day": 9, "min_call_gap_s": 0}
    )
    contact = await _contact(conn, campaign)
    gate = _gate(max_attempts_per_day=1, min_call_gap_s=600)
    assert (await gate.check(conn, campaign, contact, OPEN, "originate")).allowed

    again = await gate.check(
        conn, campaign, contact, OPEN + timedelta(hours=1), "lease"
    )

    assert again.reason.startswith("daily: 1 of 1 calls today")
