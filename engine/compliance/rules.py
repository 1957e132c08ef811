"""
The compliance rules, each read from Postgres and judged at one instant.

``evaluate`` runs every rule for a contact and returns a ``Verdict`` per rule;
it changes nothing, so the gate (which acts on the verdicts) and
``contacts why`` (which shows them) share one judgement. Rules, in order:

    caller_id   the campaign's caller id is approved and not revoked
    dnc         no live do-not-call entry for the number and kind
    attempts    fewer originates than the campaign's max attempts
    daily       fewer originates today (called party's day) than the cap
    gap         the number was not called, by any campaign, within the gap
    retry       the retry delay of the last outcome has passed
    window      the window is open now and stays open for the ring timeout
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import asyncpg

from engine.compliance.calendar import load_calendar
from engine.compliance.dnc import DncEntry, find_active
from engine.compliance.exceptions import ComplianceError
from engine.compliance.schedule import Schedule
from engine.compliance.windows import effective_window
from engine.compliance.zones import Place, locate
from engine.dialer.models import Campaign, Contact
from engine.settings import Settings

# A refusal that cannot be fixed by waiting for the window still comes back
# after this long, so nothing is dropped and a fixed setting takes effect.
RECHECK = timedelta(minutes=15)


@dataclass(frozen=True)
class Verdict:
    """One rule's judgement: passed, or why not and until when."""

    rule: str
    passed: bool
    detail: str
    retry_at: datetime | None = None
    final: bool = False


@dataclass(frozen=True)
class Limits:
    """The numbers the rules use, campaign settings capped by the institution's."""

    per_day: int
    gap: timedelta
    call_on_holidays: bool

    @classmethod
    def of(cls, campaign: Campaign, settings: Settings) -> "Limits":
        """The institution's limits, tightened (never loosened) by the campaign."""
        own: Mapping[str, Any] = campaign.settings or {}
        per_day = min(
            settings.max_attempts_per_day,
            int(own.get("max_attempts_per_day", settings.max_attempts_per_day)),
        )
        gap = max(settings.min_call_gap_s, int(own.get("min_call_gap_s", 0)))

        return cls(per_day, timedelta(seconds=gap), bool(own.get("call_on_holidays")))


@dataclass(frozen=True)
class Evaluation:
    """Every rule's verdict for one contact at one instant."""

    now: datetime
    place: Place
    verdicts: list[Verdict]
    dnc_entry: DncEntry | None = None
    callback_id: int | None = None
    schedule: Schedule | None = field(default=None, repr=False)

    @property
    def allowed(self) -> bool:
        """True when every rule passed."""
        return all(v.passed for v in self.verdicts)

    @property
    def refusals(self) -> list[Verdict]:
        """The rules that did not pass, in rule order."""
        return [v for v in self.verdicts if not v.passed]


async def evaluate(
    conn: asyncpg.Connection,
    campaign: Campaign,
    contact: Contact,
    now: datetime,
    settings: Settings,
) -> Evaluation:
    """Judge every rule for ``contact`` at ``now``, changing nothing."""
    place = locate(
        contact.phone, contact.timezone, campaign.timezone, campaign.default_region
    )
    limits = Limits.of(campaign, settings)
    entry = await find_active(conn, contact.phone, campaign.kind, now)
    callback_id = await conn.fetchval(
        "SELECT id FROM callbacks WHERE contact_id = $1 AND state = 'pending'"
        " AND due_at <= $2",
        contact.id,
        now,
    )
    history = await _history(conn, contact, now, place)
    verdicts = [
        await _caller_id(conn, campaign, now),
        _dnc(entry),
        _attempts(campaign, contact, history, callback_id),
        _daily(limits, history, place, now),
        _gap(limits, history, now),
        _retry(campaign, history, callback_id, now),
    ]
    schedule, window_verdict = await _window(
        conn, campaign, place, limits, now, settings.calling_windows
    )
    verdicts.append(window_verdict)

    return Evaluation(now, place, verdicts, entry, callback_id, schedule)


async def _history(
    conn: asyncpg.Connection, contact: Contact, now: datetime, place: Place
) -> Mapping[str, Any]:
    local_midnight = datetime.combine(
        now.astimezone(place.zones[0]).date(), time(), place.zones[0]
    )
    row = await conn.fetchrow(
        "SELECT"
        " (SELECT count(*) FROM compliance_dials WHERE contact_id = $1) AS total,"
        " (SELECT count(*) FROM compliance_dials WHERE contact_id = $1"
        "   AND at >= $3) AS today,"
        " (SELECT max(at) FROM compliance_dials WHERE contact_id = $1) AS last_own,"
        " (SELECT at FROM phone_last_dial WHERE phone = $2) AS last_any,"
        " (SELECT last_outcome FROM contacts WHERE id = $1) AS last_outcome",
        contact.id,
        contact.phone,
        local_midnight,
    )
    found = dict(row)
    found["next_midnight"] = datetime.combine(
        local_midnight.date() + timedelta(days=1), time(), place.zones[0]
    )

    return found


async def _caller_id(
    conn: asyncpg.Connection, campaign: Campaign, now: datetime
) -> Verdict:
    approved = await conn.fetchval(
        "SELECT true FROM approved_caller_ids WHERE caller_id = $1"
        " AND revoked_at IS NULL",
        campaign.caller_id,
    )
    if approved:
        return Verdict("caller_id", True, "caller id is approved")

    return Verdict(
        "caller_id", False, "caller id is not approved", retry_at=now + RECHECK
    )


def _dnc(entry: DncEntry | None) -> Verdict:
    if entry is None:
        return Verdict("dnc", True, "not on the do-not-call list")

    return Verdict(
        "dnc", False, f"on the do-not-call list: {entry.describe()}", final=True
    )


def _attempts(
    campaign: Campaign,
    contact: Contact,
    history: Mapping[str, Any],
    callback_id: int | None,
) -> Verdict:
    made = max(contact.attempts, history["total"])
    detail = f"{made} of {campaign.max_attempts} attempts made"
    if made < campaign.max_attempts:
        return Verdict("attempts", True, detail)
    if callback_id is not None:
        return Verdict("attempts", True, detail + "; a promised callback is due")

    return Verdict("attempts", False, detail, final=True)


def _daily(
    limits: Limits, history: Mapping[str, Any], place: Place, now: datetime
) -> Verdict:
    detail = f"{history['today']} of {limits.per_day} calls today"
    if history["today"] < limits.per_day:
        return Verdict("daily", True, detail)

    return Verdict("daily", False, detail, retry_at=history["next_midnight"])


def _gap(limits: Limits, history: Mapping[str, Any], now: datetime) -> Verdict:
    last = history["last_any"]
    if last is None or last + limits.gap <= now:
        return Verdict("gap", True, "no recent call to this number")
    until = last + limits.gap

    return Verdict(
        "gap",
        False,
        f"number called {int((now - last).total_seconds())} s ago"
        f" (minimum gap {int(limits.gap.total_seconds())} s)",
        retry_at=until,
    )


def _retry(
    campaign: Campaign,
    history: Mapping[str, Any],
    callback_id: int | None,
    now: datetime,
) -> Verdict:
    last, outcome = history["last_own"], history["last_outcome"]
    delay = campaign.retry_delays.get(outcome) if outcome else None
    if callback_id is not None or last is None or delay is None:
        return Verdict("retry", True, "no retry delay pending")
    until = last + timedelta(seconds=int(delay))
    if until <= now:
        return Verdict("retry", True, f"retry delay after {outcome} has passed")

    return Verdict("retry", False, f"waiting {delay} s after {outcome}", retry_at=until)


async def _window(
    conn: asyncpg.Connection,
    campaign: Campaign,
    place: Place,
    limits: Limits,
    now: datetime,
    windows_setting: str | None,
) -> tuple[Schedule | None, Verdict]:
    try:
        window = effective_window(
            campaign.kind, campaign.settings.get("calling_window"), windows_setting
        )
    except ComplianceError as exc:
        return None, Verdict("window", False, str(exc), retry_at=now + RECHECK)
    calendar = await load_calendar(
        conn, (now - timedelta(days=2)).date(), (now + timedelta(days=402)).date()
    )
    schedule = Schedule(window, calendar, limits.call_on_holidays)
    ring = timedelta(seconds=campaign.ring_timeout_s)
    zones = ", ".join(place.zone_names)
    if schedule.is_open(place, now, ring):
        return schedule, Verdict("window", True, f"inside the calling window ({zones})")
    opening = schedule.next_opening(place, now, ring)
    if opening is None:
        detail = f"the calling window never opens within a year ({zones})"
        return schedule, Verdict("window", False, detail, retry_at=now + RECHECK)

    return schedule, Verdict(
        "window", False, f"outside the calling window ({zones})", retry_at=opening
    )
