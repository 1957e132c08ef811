"""
The desktop's disposition form: what it accepts, and how a posted form is read.

Outcome codes depend on the kind of call (a collections call ends in a
promise to pay, a fraud alert in a confirmed or disputed transaction). A form
is checked whole before anything is written: an unknown outcome, a callback
time in the past, notes too long, or a refusal without the call being the
operator's own is a 4xx that changes nothing.
"""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from aiohttp import web

from engine.compliance.dnc import record_refusal
from engine.db.audit import audit
from engine.web import calls
from engine.web.context import ctx
from engine.web.exceptions import ApiError
from engine.web.inputs import bool_field, read_json, text_field

log = structlog.get_logger(__name__)

COMMON = (
    ("callback_requested", "Callback requested"),
    ("not_interested", "Not interested"),
    ("wrong_person", "Wrong person / identity not confirmed"),
    ("wrong_number", "Wrong number"),
    ("language_barrier", "Language barrier"),
    ("hung_up", "Customer hung up"),
)
BY_KIND: dict[str, tuple[tuple[str, str], ...]] = {
    "collections": (
        ("promise_to_pay", "Promise to pay"),
        ("paid", "Already paid"),
        ("payment_plan", "Payment plan agreed"),
        ("dispute", "Disputes the debt"),
        ("hardship", "Financial hardship"),
    ),
    "transaction_check": (
        ("confirmed_genuine", "Transaction confirmed genuine"),
        ("disputed", "Transaction disputed"),
    ),
    "fraud_alert": (
        ("confirmed_genuine", "Confirmed genuine"),
        ("confirmed_fraud", "Confirmed fraud, card blocked"),
        ("disputed", "Customer unsure, referred"),
    ),
    "card_renewal": (
        ("renewal_confirmed", "Renewal confirmed"),
        ("address_updated", "Address updated"),
        ("renewal_declined", "Renewal declined"),
    ),
    "dormant_account": (
        ("reactivated", "Account reactivated"),
        ("close_requested", "Closure requested"),
    ),
    "marketing": (
        ("sale", "Sale"),
        ("interested", "Interested, send details"),
    ),
    "insurance": (
        ("sale", "Policy sold"),
        ("interested", "Interested, send details"),
    ),
    "greeting": (("greeted", "Greeting delivered"),),
    "survey": (
        ("survey_completed", "Survey completed"),
        ("survey_partial", "Survey partly completed"),
    ),
    "follow_up": (
        ("resolved", "Resolved"),
        ("unresolved", "Not resolved"),
    ),
    "customer_care": (
        ("resolved", "Resolved"),
        ("unresolved", "Not resolved"),
    ),
}
FIELDS = {
    "outcome",
    "notes",
    "callback_at",
    "refusal",
    "complaint",
    "fraud_suspected",
    "aml_suspected",
}
MAX_NOTES = 4000
CALLBACK_HORIZON = timedelta(days=90)


def outcomes_for(kind: str) -> tuple[tuple[str, str], ...]:
    """The outcome codes and labels an operator may pick for a kind of call."""
    return BY_KIND.get(kind, ()) + COMMON


def parse_callback(value: str | None, timezone: str, now: datetime) -> datetime | None:
    """A callback time from the form: ISO, local to the campaign when naive."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(
            422, "invalid_field", "callback_at must be a date and time"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))
    if when <= now:
        raise ApiError(422, "invalid_field", "callback_at must be in the future")
    if when > now + CALLBACK_HORIZON:
        raise ApiError(422, "invalid_field", "callback_at must be within 90 days")

    return when


async def read_form(
    request: web.Request, kind: str, timezone: str, now: datetime
) -> dict[str, Any]:
    """The posted disposition, checked whole; ApiError names the first fault."""
    body = await read_json(request, FIELDS)
    outcome = text_field(body, "outcome", required=True, max_length=64)
    if outcome not in {code for code, _ in outcomes_for(kind)}:
        raise ApiError(
            422, "invalid_field", f"outcome {outcome!r} does not fit a {kind} call"
        )
    form = {
        "outcome": outcome,
        "notes": text_field(body, "notes", max_length=MAX_NOTES),
        "callback_at": parse_callback(
            text_field(body, "callback_at", max_length=40), timezone, now
        ),
    }
    for flag in ("refusal", "complaint", "fraud_suspected", "aml_suspected"):
        form[flag] = bool_field(body, flag)
    if outcome == "callback_requested" and form["callback_at"] is None:
        raise ApiError(422, "missing_field", "callback_at is required for a callback")
    if form["complaint"] and not form["notes"]:
        raise ApiError(422, "missing_field", "notes must say what the complaint is")

    return form


async def save_disposition(
    request: web.Request, operator_id: str, call_id: str
) -> dict[str, Any]:
    """Check and store a posted disposition of the operator's own call."""
    context = ctx(request)
    now = context.clock.now()
    call = await calls.own_call(context.pool, operator_id, call_id)
    if call["disposition"] is not None:
        raise ApiError(
            409, "call_disposed", f"call {call_id} already has a disposition"
        )
    form = await read_form(request, call["kind"], call["timezone"], now)
    async with context.pool.acquire() as conn, conn.transaction():
        disposition_id = await _insert(conn, call, operator_id, form, now)
        if form["refusal"]:
            await record_refusal(
                conn, call["phone"], call["kind"], operator_id, call_id, now=now
            )
        escalated = await _escalate(conn, call, operator_id, form, now)
        await audit(
            conn,
            operator_id,
            "disposition_recorded",
            "call",
            call_id,
            outcome=form["outcome"],
            escalations=escalated,
        )
    log.info(
        "disposition_recorded",
        call_id=call_id,
        outcome=form["outcome"],
        escalations=escalated,
    )

    return {
        "id": disposition_id,
        "call_id": call_id,
        "outcome": form["outcome"],
        "escalations": escalated,
        "refusal_recorded": form["refusal"],
    }


async def _insert(
    conn: asyncpg.Connection,
    call: asyncpg.Record,
    operator_id: str,
    form: dict[str, Any],
    now: datetime,
) -> int:
    disposition_id = await conn.fetchval(
        "INSERT INTO dispositions (call_id, campaign_id, contact_id, operator_id,"
        " outcome, notes, callback_at, refusal, complaint, fraud_suspected,"
        " aml_suspected, created_at)"
        " SELECT oc.call_id, oc.campaign_id, oc.contact_id, $2, $3, $4, $5, $6, $7,"
        " $8, $9, $10 FROM operator_calls oc WHERE oc.call_id = $1"
        " ON CONFLICT (call_id) DO NOTHING RETURNING id",
        call["call_id"],
        operator_id,
        form["outcome"],
        form["notes"],
        form["callback_at"],
        form["refusal"],
        form["complaint"],
        form["fraud_suspected"],
        form["aml_suspected"],
        now,
    )
    if disposition_id is None:
        raise ApiError(409, "call_disposed", "call already has a disposition")

    return disposition_id


async def _escalate(
    conn: asyncpg.Connection,
    call: asyncpg.Record,
    operator_id: str,
    form: dict[str, Any],
    now: datetime,
) -> list[str]:
    kinds = [
        kind
        for kind, flag in (
            ("complaint", "complaint"),
            ("fraud", "fraud_suspected"),
            ("aml", "aml_suspected"),
        )
        if form[flag]
    ]
    for kind in kinds:
        await conn.execute(
            "INSERT INTO escalations (kind, campaign_id, call_id, operator_id,"
            " details, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            kind,
            call["campaign_id"],
            call["call_id"],
            operator_id,
            {"notes": form["notes"], "outcome": form["outcome"]},
            now,
        )

    return kinds
