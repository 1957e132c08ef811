"""
The compliance gate: the dialer's last word before any contact is dialled.

The dialer calls ``ComplianceGate.check`` when it leases a contact and again
right before the originate. Every rule of ``engine.compliance.rules`` must
pass. A refusal is audited (``dial_refused``) with the rule that refused and
is remembered in ``compliance_holds`` for the campaign status; passes are not
audited, to keep the log to decisions that stopped a call. A contact refused
for a reason time will cure is rescheduled to the next instant all its rules
can pass (within the window), never dropped; a suppressed or exhausted contact
is final, and a due callback it had is cancelled; the decision tells the
dialer to close the contact as ``suppressed`` or ``exhausted``.

At the originate stage a pass also reserves the number: a conditional upsert
on ``phone_last_dial`` succeeds only if no other engine called the number
within the minimum gap, so two engines cannot both beat it, and the dial is
logged in ``compliance_dials`` with the engine's clock for the limits.
"""

from datetime import datetime, timedelta
from typing import Literal

import asyncpg
import structlog

from engine.compliance.rules import Evaluation, Limits, Verdict, evaluate
from engine.db.audit import audit
from engine.dialer.models import Campaign, Contact
from engine.dialer.seams import GateDecision, Stage
from engine.settings import Settings, get_settings

log = structlog.get_logger(__name__)

_RESERVE = """
INSERT INTO phone_last_dial (phone, at) VALUES ($1, $2)
ON CONFLICT (phone) DO UPDATE SET at = EXCLUDED.at
WHERE phone_last_dial.at <= EXCLUDED.at - $3::interval
RETURNING at
"""
_HOLD = """
INSERT INTO compliance_holds (contact_id, campaign_id, reason, detail, retry_at,
    decided_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (contact_id) DO UPDATE SET reason = $3, detail = $4, retry_at = $5,
    decided_at = $6
"""


class ComplianceGate:
    """A ``DialGate`` enforcing windows, suppression, caller ids and limits."""

    def __init__(
        self, settings: Settings | None = None, actor: str = "compliance"
    ) -> None:
        self.settings = settings or get_settings()
        self.actor = actor

    async def check(
        self,
        conn: asyncpg.Connection,
        campaign: Campaign,
        contact: Contact,
        now: datetime,
        stage: Stage,
    ) -> GateDecision:
        """Allow the dial, or say why not and when to try again."""
        async with conn.transaction():
            evaluation = await evaluate(conn, campaign, contact, now, self.settings)
            await _note_zone_fallback(conn, campaign, contact, evaluation)
            reserve = evaluation.allowed and stage == "originate"
            if reserve and not await self._reserve(conn, campaign, contact, evaluation):
                evaluation.verdicts.append(_lost_race(now))
            if evaluation.allowed:
                await conn.execute(
                    "DELETE FROM compliance_holds WHERE contact_id = $1", contact.id
                )
                return GateDecision.allow()
            decision = _decide(evaluation, campaign)
            await self._refuse(conn, campaign, contact, evaluation, decision, stage)

        return decision

    async def _reserve(
        self,
        conn: asyncpg.Connection,
        campaign: Campaign,
        contact: Contact,
        evaluation: Evaluation,
    ) -> bool:
        gap = Limits.of(campaign, self.settings).gap
        won = await conn.fetchval(_RESERVE, contact.phone, evaluation.now, gap)
        if won is None:
            return False
        await conn.execute(
            "INSERT INTO compliance_dials (phone, campaign_id, contact_id, at,"
            " callback_id) VALUES ($1, $2, $3, $4, $5)",
            contact.phone,
            campaign.id,
            contact.id,
            evaluation.now,
            evaluation.callback_id,
        )
        if evaluation.callback_id is not None:
            await conn.execute(
                "UPDATE callbacks SET state = 'done', closed_at = now() WHERE id = $1",
                evaluation.callback_id,
            )

        return True

    async def _refuse(
        self,
        conn: asyncpg.Connection,
        campaign: Campaign,
        contact: Contact,
        evaluation: Evaluation,
        decision: GateDecision,
        stage: Stage,
    ) -> None:
        first = evaluation.refusals[0]
        await conn.execute(
            _HOLD,
            contact.id,
            campaign.id,
            first.rule,
            first.detail,
            decision.retry_at,
            evaluation.now,
        )
        await audit(
            conn,
            self.actor,
            "dial_refused",
            "contact",
            contact.id,
            campaign_id=campaign.id,
            stage=stage,
            rules=[v.rule for v in evaluation.refusals],
            reason=decision.reason,
            final=decision.final,
            retry_at=None
            if decision.retry_at is None
            else decision.retry_at.isoformat(),
            dnc_entry_id=None
            if evaluation.dnc_entry is None
            else evaluation.dnc_entry.id,
            at=evaluation.now.isoformat(),
        )
        if decision.final and evaluation.callback_id is not None:
            await _close_callback(conn, evaluation.callback_id, self.actor, decision)
        level = log.info if first.rule in ("dnc", "caller_id") else log.debug
        level(
            "dial_refused",
            campaign_id=campaign.id,
            contact_id=contact.id,
            rule=first.rule,
            stage=stage,
            final=decision.final,
        )


# The contact state a final refusal by each rule leaves, so that the campaign
# status and reports count the contact under the rule that closed it.
_CLOSES_AS: dict[str, Literal["suppressed", "exhausted"]] = {
    "dnc": "suppressed",
    "attempts": "exhausted",
}


def _decide(evaluation: Evaluation, campaign: Campaign) -> GateDecision:
    """One decision from the refusals: final if any is, else the latest retry."""
    refusals = evaluation.refusals
    first = refusals[0]
    reason = f"{first.rule}: {first.detail}"
    if any(v.final for v in refusals):
        final = next(v for v in refusals if v.final)
        closes_as = _CLOSES_AS.get(final.rule, "cancelled")
        return GateDecision(
            False, f"{final.rule}: {final.detail}", None, True, closes_as
        )
    retry_at = max(v.retry_at or evaluation.now for v in refusals)
    if evaluation.schedule is not None:
        ring = timedelta(seconds=campaign.ring_timeout_s)
        opening = evaluation.schedule.next_opening(evaluation.place, retry_at, ring)
        retry_at = opening or retry_at

    return GateDecision(False, reason, retry_at, False)


async def _close_callback(
    conn: asyncpg.Connection, callback_id: int, actor: str, decision: GateDecision
) -> None:
    """A due callback that can never be made (do-not-call...) is cancelled."""
    await conn.execute(
        "UPDATE callbacks SET state = 'cancelled', closed_at = now() WHERE id = $1",
        callback_id,
    )
    await audit(
        conn,
        actor,
        "callback_cancelled",
        "callback",
        callback_id,
        reason=decision.reason,
    )


def _lost_race(now: datetime) -> Verdict:
    return Verdict(
        "gap",
        False,
        "another engine called this number within the minimum gap",
        retry_at=now + timedelta(minutes=1),
    )


async def _note_zone_fallback(
    conn: asyncpg.Connection,
    campaign: Campaign,
    contact: Contact,
    evaluation: Evaluation,
) -> None:
    if evaluation.place.source != "fallback":
        return
    await conn.execute(
        "INSERT INTO contact_zone_fallbacks (contact_id, campaign_id, reason)"
        " VALUES ($1, $2, $3) ON CONFLICT (contact_id) DO NOTHING",
        contact.id,
        campaign.id,
        evaluation.place.fallback_reason or "unknown",
    )
