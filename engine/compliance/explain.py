"""
``outdial contacts why``: whether a contact is dialable now, and why (not).

Runs the same rules as the gate (``engine.compliance.rules.evaluate``), with
no side effects, and adds what the gate does not see: the contact's state,
its lease, and when the dialer will next pick it up.
"""

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from engine.campaigns.exceptions import InvalidPhoneError
from engine.campaigns.phones import normalise
from engine.compliance.exceptions import ComplianceError
from engine.compliance.rules import Evaluation, evaluate
from engine.compliance.windows import format_intervals
from engine.dialer.models import Campaign, Contact
from engine.settings import Settings


@dataclass
class Explanation:
    """The answer: dialable or not, and one line per fact that decided it."""

    dialable: bool
    lines: list[tuple[bool | None, str]] = field(default_factory=list)

    def render(self) -> str:
        """Plain text: a verdict line, then one mark per fact."""
        marks = {True: "ok  ", False: "NO  ", None: "    "}
        head = "dialable now" if self.dialable else "not dialable now"
        body = [f"{marks[ok]}{text}" for ok, text in self.lines]

        return "\n".join([head, *body])


async def explain(
    conn: asyncpg.Connection,
    campaign_ref: str,
    phone: str,
    now: datetime,
    settings: Settings,
) -> Explanation:
    """Explain the contact with ``phone`` in the campaign named (or numbered)."""
    row = await conn.fetchrow(
        "SELECT * FROM campaigns WHERE name = $1 OR id::text = $1"
        " ORDER BY name = $1 DESC LIMIT 1",
        campaign_ref,
    )
    if row is None:
        raise ComplianceError(f"no campaign named {campaign_ref!r}")
    campaign = Campaign.from_row(row)
    try:
        e164 = normalise(phone, campaign.default_region)
    except InvalidPhoneError as exc:
        raise ComplianceError(
            f"{phone!r} is not a phone number: {exc.reason}"
        ) from None
    found = await conn.fetchrow(
        "SELECT * FROM contacts WHERE campaign_id = $1 AND phone = $2",
        campaign.id,
        e164,
    )
    if found is None:
        raise ComplianceError(
            f"campaign {campaign.name!r} has no contact with that number"
        )
    evaluation = await evaluate(conn, campaign, Contact.from_row(found), now, settings)

    return _explanation(campaign, found, evaluation, now)


def _explanation(
    campaign: Campaign, contact: asyncpg.Record, evaluation: Evaluation, now: datetime
) -> Explanation:
    queue = _queue_lines(campaign, contact, now)
    dialable = evaluation.allowed and all(ok is not False for ok, _ in queue)
    result = Explanation(dialable, queue)
    for verdict in evaluation.verdicts:
        text = f"{verdict.rule}: {verdict.detail}"
        if verdict.final:
            text += " (final)"
        elif verdict.retry_at is not None:
            text += f"; may pass at {verdict.retry_at.isoformat()}"
        result.lines.append((verdict.passed, text))
    result.lines += _place_lines(evaluation)

    return result


def _queue_lines(
    campaign: Campaign, contact: asyncpg.Record, now: datetime
) -> list[tuple[bool | None, str]]:
    lines: list[tuple[bool | None, str]] = []
    state = contact["state"]
    reason = f" ({contact['state_reason']})" if contact["state_reason"] else ""
    lines.append((state == "pending", f"state: {state}{reason}"))
    if campaign.state != "running":
        lines.append((False, f"campaign: {campaign.state}"))
    due = contact["next_attempt_at"]
    if state == "pending" and due > now:
        lines.append((False, f"schedule: next attempt at {due.isoformat()}"))
    elif state == "pending":
        lines.append((True, "schedule: due"))

    return lines


def _place_lines(evaluation: Evaluation) -> list[tuple[bool | None, str]]:
    place = evaluation.place
    source = {
        "contact": "from the contact's time zone",
        "number": "from the number",
        "fallback": f"campaign's zone: {place.fallback_reason}",
    }[place.source]
    lines: list[tuple[bool | None, str]] = [
        (
            None,
            f"zones: {', '.join(place.zone_names)} ({source}); country {place.country}",
        )
    ]
    schedule = evaluation.schedule
    for zone in place.zones:
        local = evaluation.now.astimezone(zone)
        day = ""
        if schedule is not None:
            info, intervals = schedule.day(place.country, local.date())
            name = f" {info.name}" if info.name else ""
            day = f", {info.kind}{name}, window {_intervals(intervals)}"
        lines.append(
            (None, f"local time in {zone.key}: {local:%a %Y-%m-%d %H:%M}{day}")
        )

    return lines


def _intervals(intervals: tuple[tuple[int, int], ...]) -> str:
    return format_intervals(intervals)
