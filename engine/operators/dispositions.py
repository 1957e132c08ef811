"""
Dispositions: what the operator records about a call once it is over (or during it).

Outcome codes fit the kind of call (a collections call ends in a promise to
pay, a fraud alert in a confirmed or disputed transaction). Beside the code
the operator may flag:

- a refusal: the number goes on the do-not-call list for this kind of call
  (``engine.compliance.dnc.record_refusal``), in the same transaction;
- a complaint: recorded and escalated to the directors, and the campaign's
  complaint threshold is checked (``engine.operators.complaints``);
- suspected fraud or money laundering: escalated to the directors.

A callback time is promised through ``engine.compliance.callbacks``, which
puts the contact back in the queue for that time.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog

from engine.compliance.callbacks import schedule_callback
from engine.compliance.dnc import record_refusal
from engine.compliance.exceptions import ComplianceError
from engine.db.audit import audit
from engine.operators.accounts import Account
from engine.operators.exceptions import (
    DispositionError,
    PermissionDeniedError,
)

log = structlog.get_logger(__name__)

MAX_NOTES = 4000
MAX_CALLBACK_AHEAD = timedelta(days=90)

COMMON_OUTCOMES: tuple[str, ...] = (
    "completed",
    "callback_requested",
    "wrong_person",
    "customer_busy",
    "refused",
    "complaint",
    "language_barrier",
    "line_problem",
)

KIND_OUTCOMES: dict[str, tuple[str, ...]] = {
    "collections": ("promise_to_pay", "paid_already", "dispute", "hardship"),
    "transaction_check": ("transaction_confirmed", "transaction_disputed"),
    "fraud_alert": ("transaction_confirmed", "fraud_confirmed", "card_blocked"),
    "card_renewal": ("renewal_accepted", "renewal_declined", "address_updated"),
    "dormant_account": ("account_reactivated", "account_to_close", "no_decision"),
    "marketing": ("interested", "not_interested", "sale"),
    "insurance": ("interested", "not_interested", "policy_sold"),
    "greeting": ("greeted",),
    "survey": ("survey_completed", "survey_partial", "survey_declined"),
    "follow_up": ("resolved", "unresolved"),
    "customer_care": ("resolved", "unresolved", "escalated"),
}


def outcome_codes(kind: str) -> tuple[str, ...]:
    """The outcome codes an operator may choose for a call of this kind."""
    return KIND_OUTCOMES.get(kind, ()) + COMMON_OUTCOMES


@dataclass(frozen=True)
class DispositionForm:
    """What the operator submits about one call."""

    call_id: str
    outcome: str
    notes: str = ""
    callback_at: datetime | None = None
    refusal: bool = False
    complaint: bool = False
    fraud_suspected: bool = False
    aml_suspected: bool = False


@dataclass(frozen=True)
class CallRef:
    """The facts about a bridged call that a disposition needs."""

    call_id: str
    campaign_id: int
    contact_id: int
    operator_id: str
    kind: str
    phone: str


async def load_call(conn: asyncpg.Connection, call_id: str) -> CallRef:
    """The bridged call, or DispositionError when no operator took it."""
    row = await conn.fetchrow(
        "SELECT oc.call_id, oc.campaign_id, oc.contact_id, oc.operator_id,"
        " c.kind, a.phone FROM operator_calls oc"
        " JOIN call_attempts a ON a.id = oc.call_id"
        " JOIN campaigns c ON c.id = oc.campaign_id WHERE oc.call_id = $1",
        call_id,
    )
    if row is None:
        raise DispositionError(f"no call {call_id} was taken by an operator")

    return CallRef(**dict(row))


def check_access(actor: Account, call: CallRef, what: str) -> None:
    """Operators act on their own calls only; directors and admins on any."""
    if not actor.supervises and call.operator_id != actor.id:
        raise PermissionDeniedError(actor.id, f"{what} call {call.call_id}")


def validate(form: DispositionForm, kind: str, now: datetime) -> None:
    """Refuse an unknown outcome, oversized notes or a callback time out of range."""
    if form.outcome not in outcome_codes(kind):
        raise DispositionError(
            f"outcome {form.outcome!r} is not one of: {', '.join(outcome_codes(kind))}"
        )
    if len(form.notes) > MAX_NOTES:
        raise DispositionError(f"notes longer than {MAX_NOTES} characters")
    if form.callback_at is not None:
        if form.callback_at.tzinfo is None:
            raise DispositionError("callback time must carry a time zone")
        if not now < form.callback_at <= now + MAX_CALLBACK_AHEAD:
            raise DispositionError("callback time must be in the next 90 days")
    if form.outcome == "callback_requested" and form.callback_at is None:
        raise DispositionError("outcome callback_requested needs a callback time")
    if form.refusal and form.callback_at is not None:
        raise DispositionError("a refusal cannot also ask for a callback")


async def record(
    pool: asyncpg.Pool, actor: Account, form: DispositionForm, now: datetime
) -> CallRef:
    """Store a disposition with its refusal, escalations and callback, atomically."""
    async with pool.acquire() as conn, conn.transaction():
        call = await load_call(conn, form.call_id)
        check_access(actor, call, "dispose of")
        validate(form, call.kind, now)
        await _insert(conn, call, form, now)
        if form.refusal or form.outcome == "refused":
            await record_refusal(
                conn, call.phone, call.kind, actor.id, call.call_id, now=now
            )
        for flag, kind in (
            (form.complaint or form.outcome == "complaint", "complaint"),
            (form.fraud_suspected, "fraud"),
            (form.aml_suspected, "aml"),
        ):
            if flag:
                await escalate(conn, kind, call, now, notes=form.notes)
        if form.callback_at is not None:
            await _callback(conn, actor, call, form)
        await audit(
            conn,
            actor.id,
            "disposition_recorded",
            "call_attempt",
            call.call_id,
            outcome=form.outcome,
            refusal=form.refusal,
            complaint=form.complaint,
        )
    log.info("disposition_recorded", call_id=call.call_id, outcome=form.outcome)

    return call


async def _insert(
    conn: asyncpg.Connection, call: CallRef, form: DispositionForm, now: datetime
) -> None:
    try:
        await conn.execute(
            "INSERT INTO dispositions (call_id, campaign_id, contact_id, operator_id,"
            " outcome, notes, callback_at, refusal, complaint, fraud_suspected,"
            " aml_suspected, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            call.call_id,
            call.campaign_id,
            call.contact_id,
            call.operator_id,
            form.outcome,
            form.notes or None,
            form.callback_at,
            form.refusal or form.outcome == "refused",
            form.complaint or form.outcome == "complaint",
            form.fraud_suspected,
            form.aml_suspected,
            now,
        )
    except asyncpg.UniqueViolationError:
        raise DispositionError(
            f"call {call.call_id} already has a disposition"
        ) from None


async def escalate(
    conn: asyncpg.Connection,
    kind: str,
    call: CallRef | None,
    now: datetime,
    *,
    campaign_id: int | None = None,
    **details: Any,
) -> int:
    """Open an escalation the directors see on their board."""
    escalation_id: int = await conn.fetchval(
        "INSERT INTO escalations (kind, campaign_id, call_id, operator_id, details,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        kind,
        call.campaign_id if call else campaign_id,
        call.call_id if call else None,
        call.operator_id if call else None,
        details,
        now,
    )
    log.warning("escalation_opened", escalation_id=escalation_id, kind=kind)

    return escalation_id


async def _callback(
    conn: asyncpg.Connection, actor: Account, call: CallRef, form: DispositionForm
) -> None:
    assert form.callback_at is not None
    try:
        await schedule_callback(
            conn,
            call.contact_id,
            form.callback_at,
            actor=actor.id,
            operator=call.operator_id,
            note=form.notes[:500],
        )
    except ComplianceError as exc:
        raise DispositionError(str(exc)) from exc
