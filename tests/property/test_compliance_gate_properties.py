"""
Properties of the compliance gate on a real Postgres.

Hypothesis draws a campaign (kind, a window narrower than the kind's, limits,
holiday choice), contacts in many time zones (several zones, unknown zones,
explicit zones), institution dates, and a run: a start instant (often near a
daylight-saving change or a Chinese holiday) and steps forward that are
seconds to days long, each possibly changing the do-not-call list or the
caller id's approval. At every step every contact is put to the gate as the
dialer would, right before an originate. Whatever the gate allowed is then
judged by ``compliance_oracle``: no dial to a suppressed number, outside the
window (in every zone, for the whole ring timeout), from an unapproved
caller id, or over an attempt limit.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from compliance_oracle import DAYS, Intervals, World
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.compliance import callerids, dnc
from engine.compliance.calendar import set_date
from engine.compliance.gate import ComplianceGate
from engine.compliance.windows import DEFAULT_WINDOWS, parse_window
from engine.dialer.models import Campaign, Contact
from engine.settings import Settings

CALLER_ID = "95555"
# Numbers chosen for their zones: China, New York, Los Angeles, Boise+LA
# (two zones), Denver+ND Center, Honolulu (no DST), Sydney (southern DST),
# Tokyo, and a UK number phonenumbers gives no zone (campaign zone used).
PHONES = (
    "+8613800138000",
    "+12125550100",
    "+13105550100",
    "+12085550100",
    "+16055550100",
    "+18085550100",
    "+61212345678",
    "+819012345678",
    "+447700900123",
)
EXPLICIT_ZONES = (None, None, None, "Asia/Shanghai", "America/Chicago", "Europe/Berlin")
# Instants worth starting near: US DST on/off, Sydney DST off/on, Spring Festival
# with its make-up Saturday, National Day, and an ordinary week.
ANCHORS = (
    datetime(2026, 3, 7, 12, tzinfo=UTC),
    datetime(2026, 10, 31, 12, tzinfo=UTC),
    datetime(2026, 4, 4, 12, tzinfo=UTC),
    datetime(2026, 10, 3, 12, tzinfo=UTC),
    datetime(2026, 2, 13, 0, tzinfo=UTC),
    datetime(2026, 9, 30, 0, tzinfo=UTC),
    datetime(2026, 6, 8, 0, tzinfo=UTC),
)
KINDS = tuple(DEFAULT_WINDOWS)


@st.composite
def narrowed_windows(draw: st.DrawFn, kind: str) -> Intervals | None:
    """None (the kind's own window) or, per slot, sub-intervals of it."""
    limit = parse_window(DEFAULT_WINDOWS[kind])
    if draw(st.booleans()):
        return None
    chosen: Intervals = {}
    for slot in (*DAYS, "workday"):
        own = []
        for start, end in limit.intervals(slot):
            if draw(st.integers(0, 3)) == 0:
                continue
            a = draw(st.integers(start, end - 1))
            b = draw(st.integers(a + 1, end))
            own.append((a, b))
        chosen[slot] = own
    if not any(chosen.values()):
        return None

    return chosen


def _spec(window: Intervals) -> str:
    def text(intervals: list[tuple[int, int]]) -> str:
        return (
            ",".join(
                f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"
                for a, b in intervals
            )
            or "closed"
        )

    return "; ".join(f"{slot} {text(window[slot])}" for slot in (*DAYS, "workday"))


step_actions = st.one_of(
    st.none(),
    st.none(),
    st.tuples(
        st.just("dnc_add"),
        st.integers(0, len(PHONES) - 1),
        st.sampled_from(("all", "collections", "marketing", "fraud_alert")),
        st.one_of(st.none(), st.integers(60, 3 * 86400)),
    ),
    st.tuples(st.just("dnc_remove"), st.integers(0, len(PHONES) - 1)),
    st.tuples(st.just("caller_id"), st.booleans()),
)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A campaign, its contacts, institution dates and a run of steps."""
    kind = draw(st.sampled_from(KINDS))
    contacts = draw(
        st.lists(
            st.tuples(st.sampled_from(PHONES), st.sampled_from(EXPLICIT_ZONES)),
            min_size=1,
            max_size=5,
            unique_by=lambda c: c[0],
        )
    )
    start = draw(st.sampled_from(ANCHORS)) + timedelta(
        minutes=draw(st.integers(-3 * 1440, 3 * 1440))
    )
    steps = draw(
        st.lists(
            st.tuples(
                st.one_of(
                    st.integers(1, 600),
                    st.integers(600, 6 * 3600),
                    st.integers(6 * 3600, 3 * 86400),
                ),
                step_actions,
            ),
            min_size=3,
            max_size=14,
        )
    )
    own_dates = draw(
        st.dictionaries(
            st.tuples(
                st.dates(
                    start.date() - timedelta(days=1), start.date() + timedelta(days=20)
                ),
                st.sampled_from(("*", "CN", "US")),
            ),
            st.sampled_from(("closed", "open")),
            max_size=3,
        )
    )

    return {
        "kind": kind,
        "window": draw(narrowed_windows(kind)),
        "campaign_zone": draw(st.sampled_from(("Asia/Shanghai", "Europe/London"))),
        "call_on_holidays": draw(st.booleans()),
        "ring": draw(st.integers(5, 300)),
        "max_attempts": draw(st.integers(1, 5)),
        "per_day": draw(st.integers(1, 3)),
        "gap": draw(st.sampled_from((0, 60, 300, 3600))),
        "contacts": contacts,
        "start": start,
        "steps": steps,
        "own_dates": own_dates,
    }


async def _reset(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "TRUNCATE campaigns, contacts, dnc_entries, approved_caller_ids,"
        " institution_dates, audit_log, phone_last_dial RESTART IDENTITY CASCADE"
    )


async def _setup(conn: asyncpg.Connection, s: dict[str, Any]) -> tuple[Campaign, list]:
    await _reset(conn)
    await callerids.approve(conn, CALLER_ID, label="", actor="t")
    for (day, country), status in s["own_dates"].items():
        await set_date(conn, day, status, country=country, reason="t", actor="t")
    settings = {"call_on_holidays": s["call_on_holidays"]}
    if s["window"] is not None:
        settings["calling_window"] = _spec(s["window"])
    row = await conn.fetchrow(
        "INSERT INTO campaigns (name, kind, caller_id, max_attempts, ring_timeout_s,"
        " timezone, settings, state) VALUES ('p', $1, $2, $3, $4, $5, $6, 'running')"
        " RETURNING *",
        s["kind"],
        CALLER_ID,
        s["max_attempts"],
        s["ring"],
        s["campaign_zone"],
        settings,
    )
    campaign = Campaign.from_row(row)
    contacts = []
    for phone, zone in s["contacts"]:
        r = await conn.fetchrow(
            "INSERT INTO contacts (campaign_id, phone, timezone) VALUES ($1, $2, $3)"
            " RETURNING *",
            campaign.id,
            phone,
            zone,
        )
        contacts.append(Contact.from_row(r))

    return campaign, contacts


def _world(s: dict[str, Any]) -> World:
    window = s["window"]
    if window is None:
        limit = parse_window(DEFAULT_WINDOWS[s["kind"]])
        window = {slot: list(limit.intervals(slot)) for slot in (*DAYS, "workday")}
    own: dict[tuple[date, str], str] = dict(s["own_dates"])

    return World(
        window=window,
        campaign_zone=s["campaign_zone"],
        default_region="CN",
        call_on_holidays=s["call_on_holidays"],
        ring=timedelta(seconds=s["ring"]),
        max_attempts=s["max_attempts"],
        per_day=s["per_day"],
        gap=timedelta(seconds=s["gap"]),
        own_dates=own,
    )


async def _act(
    conn: asyncpg.Connection, world: World, action: Any, now: datetime
) -> None:
    if action is None:
        return
    if action[0] == "dnc_add":
        _, index, scope, ttl = action
        expires = None if ttl is None else now + timedelta(seconds=ttl)
        await dnc.add_entry(
            conn,
            PHONES[index],
            scope=scope,
            source="manual",
            reason="",
            actor="t",
            now=now,
            expires_at=expires,
        )
        entries = world.dnc[PHONES[index]]
        live = [e for e in entries if e[3] == scope and e[2] is None]
        if live and (live[0][1] is None or live[0][1] > now):
            live[0][1] = (
                None
                if expires is None or live[0][1] is None
                else max(live[0][1], expires)
            )
        else:
            for e in live:
                e[2] = now
            entries.append([now, expires, None, scope])
    elif action[0] == "dnc_remove":
        phone = PHONES[action[1]]
        for e in world.dnc[phone]:
            if e[2] is None and e[3] == "all":
                e[2] = now
                await dnc.remove_entry(conn, phone, scope="all", actor="t", reason="t")
    elif action[0] == "caller_id":
        world.set_caller_id(action[1], now)
        await callerids.approve(conn, CALLER_ID, label="", actor="t")
        if not action[1]:
            await callerids.revoke(conn, CALLER_ID, reason="t", actor="t")


@settings(max_examples=20)
@given(scenario=scenarios())
async def test_gate_allowed_dials_obey_every_rule(
    pool: asyncpg.Pool, scenario: dict[str, Any]
) -> None:
    world = _world(scenario)
    gate = ComplianceGate(
        Settings(
            max_attempts_per_day=scenario["per_day"], min_call_gap_s=scenario["gap"]
        )
    )
    async with pool.acquire() as conn:
        campaign, contacts = await _setup(conn, scenario)
        now = scenario["start"]
        for delta, action in scenario["steps"]:
            await _act(conn, world, action, now)
            for contact in contacts:
                decision = await gate.check(conn, campaign, contact, now, "originate")
                if decision.allowed:
                    assert world.caller_id_ok, (
                        f"dial at {now} with unapproved caller id"
                    )
                    assert not world.suppressed(contact.phone, campaign.kind, now), (
                        f"dial at {now} to a suppressed number"
                    )
                    why = world.window_violation(contact.phone, contact.timezone, now)
                    assert not why, f"dial at {now} outside the window: {why}"
                    world.dials[contact.phone].append(now)
                else:
                    assert decision.final or decision.retry_at is not None
                    assert decision.final or decision.retry_at > now
            now += timedelta(seconds=delta)

    for phone, zone in scenario["contacts"]:
        why = world.limit_violation(phone, zone)
        assert not why, f"limits broken for {phone}: {why}"


@settings(max_examples=10)
@given(scenario=scenarios())
async def test_gate_refused_contact_retry_at_is_dialable(
    pool: asyncpg.Pool, scenario: dict[str, Any]
) -> None:
    """A contact refused for a time reason passes the window when retried."""
    world = _world(scenario)
    gate = ComplianceGate(Settings(max_attempts_per_day=3, min_call_gap_s=0))
    async with pool.acquire() as conn:
        campaign, contacts = await _setup(conn, scenario)
        for contact in contacts:
            decision = await gate.check(
                conn, campaign, contact, scenario["start"], "lease"
            )
            if decision.allowed or decision.final:
                continue
            if not decision.reason.startswith("window: outside"):
                continue
            retry = decision.retry_at
            assert retry is not None
            assert retry > scenario["start"]
            assert not world.window_violation(contact.phone, contact.timezone, retry)
            again = await gate.check(conn, campaign, contact, retry, "lease")
            assert again.allowed, again.reason
