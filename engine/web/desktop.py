"""
The operator desktop: the page, and the small JSON API its script polls.

    GET  /                              the page (a shell filled by desktop.js)
    GET  /api/desktop                   state, wrap-up countdown, current call, script
    GET  /api/desktop/stats             this operator's figures
    GET  /api/desktop/calls             this operator's latest calls, masked
    POST /api/desktop/state             {"state": "connecting"|"ready"|"paused"|
                                         "logged_out", "campaign_id"?, "reason"?}
    POST /api/calls/{id}/identity       the script's identity check passed
    POST /api/calls/{id}/hangup         end the customer's leg (any process)
    POST /api/calls/{id}/disposition    {"outcome", "notes"?, "callback_at"?,
                                         "refusal"?, "complaint"?,
                                         "fraud_suspected"?, "aml_suspected"?}

Every read and change goes through ``engine.operators.service``, which checks
that a call is the operator's own and masks the customer until the identity
check is recorded (that reveal is audited there); a call whose wrap-up ran
out before its disposition stays on the desktop (``engine.web.pending``). The
page polls
``/api/desktop`` once a second; it costs a handful of indexed queries.
"""

from dataclasses import asdict
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from engine.operators.accounts import Account
from engine.operators.dispositions import (
    DispositionForm,
    check_access,
    load_call,
    outcome_codes,
)
from engine.operators.exceptions import DispositionError
from engine.operators.service import CurrentCall
from engine.operators.sessions import Session
from engine.web.auth import account_of, login_required
from engine.web.context import ctx
from engine.web.exceptions import ApiError
from engine.web.inputs import (
    bool_field,
    datetime_field,
    int_field,
    read_json,
    text_field,
)
from engine.web.pending import pending_call
from engine.web.render import render
from engine.web.scripts import fill_script

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

STATES = ("connecting", "ready", "paused", "logged_out")
DISPOSITION_FIELDS = {
    "outcome",
    "notes",
    "callback_at",
    "refusal",
    "complaint",
    "fraud_suspected",
    "aml_suspected",
}


@routes.get("/")
@login_required()
async def desktop_page(request: web.Request) -> web.StreamResponse:
    """The operator's desktop page; its script fills it from the API."""
    return render(request, "desktop.html")


@routes.get("/api/desktop")
@login_required()
async def desktop_state(request: web.Request) -> web.Response:
    """Everything on the desktop that changes from second to second."""
    return web.json_response(await _snapshot(request, await account_of(request)))


async def _snapshot(request: web.Request, account: Account) -> dict[str, Any]:
    operators = ctx(request).operators
    now = ctx(request).clock.now()
    session = await operators.session(account)
    call = await operators.current_call(account)
    pending = call is None
    if pending:
        call = await pending_call(ctx(request).pool, account, now)
    view = await _call_view(request, account, call) if call else None
    if view is not None:
        view["pending"] = pending

    return {
        "operator": {"id": account.id, "name": account.name},
        "now": now.isoformat(),
        "session": _session_view(session, now),
        "call": view,
        "campaigns": [] if session else await _open_campaigns(request),
    }


def _session_view(session: Session | None, now: datetime) -> dict[str, Any] | None:
    if session is None:
        return None
    state = session.effective_state(now).value
    left = None
    if state == "wrap_up" and session.wrap_up_until is not None:
        left = max((session.wrap_up_until - now).total_seconds(), 0.0)

    return {
        "id": session.id,
        "state": state,
        "since": session.state_since.isoformat(),
        "campaign_id": session.campaign_id,
        "wrap_up_left_s": left,
        "pause_reason": session.pause_reason,
        "calls_taken": session.calls_taken,
    }


async def _call_view(
    request: web.Request, account: Account, call: CurrentCall
) -> dict[str, Any]:
    settings = ctx(request).settings
    state = await ctx(request).pool.fetchrow(
        "SELECT d.outcome, oc.ended_at IS NULL AND a.state <> 'ended' AS live"
        " FROM operator_calls oc JOIN call_attempts a ON a.id = oc.call_id"
        " LEFT JOIN dispositions d ON d.call_id = oc.call_id WHERE oc.call_id = $1",
        call.call_id,
    )

    return {
        "id": call.call_id,
        "campaign": {"id": call.campaign_id, "name": call.campaign_name},
        "kind": call.kind,
        "customer": {
            "name": call.customer_name,
            "phone": call.phone,
            "masked": not call.identity_verified,
        },
        "identity_verified": call.identity_verified,
        "bridged_at": call.bridged_at.isoformat(),
        "disposition": state["outcome"] if state else None,
        "live": bool(state and state["live"]),
        "script": fill_script(
            call.script or None,
            institution=settings.institution_name,
            operator=account.name,
        ),
        "outcomes": [{"code": c, "label": _label(c)} for c in call.outcome_codes],
    }


def _label(code: str) -> str:
    return code.replace("_", " ").capitalize()


async def _open_campaigns(request: web.Request) -> list[dict[str, Any]]:
    rows = await ctx(request).pool.fetch(
        "SELECT id, name, kind FROM campaigns WHERE state IN ('running', 'paused')"
        " ORDER BY name LIMIT 100"
    )

    return [dict(r) for r in rows]


@routes.get("/api/desktop/stats")
@login_required()
async def desktop_stats(request: web.Request) -> web.Response:
    """The logged-in operator's own figures."""
    stats = await ctx(request).operators.stats(await account_of(request))

    return web.json_response(asdict(stats))


@routes.get("/api/desktop/calls")
@login_required()
async def desktop_calls(request: web.Request) -> web.Response:
    """The logged-in operator's latest calls, numbers masked."""
    summaries = await ctx(request).operators.calls(await account_of(request), limit=15)
    calls = [
        asdict(c)
        | {
            "bridged_at": c.bridged_at.isoformat(),
            "ended_at": c.ended_at.isoformat() if c.ended_at else None,
        }
        for c in summaries
    ]

    return web.json_response({"calls": calls})


@routes.post("/api/desktop/state")
@login_required()
async def change_state(request: web.Request) -> web.Response:
    """Start a softphone session, or move the live one to ready/paused/logged out."""
    account = await account_of(request)
    body = await read_json(request, {"state", "campaign_id", "reason"})
    wanted = text_field(body, "state", required=True)
    if wanted not in STATES:
        raise ApiError(
            422, "invalid_field", f"state must be one of {', '.join(STATES)}"
        )
    reason = text_field(body, "reason", max_length=100)
    campaign_id = int_field(body, "campaign_id")
    operators = ctx(request).operators
    if wanted == "connecting":
        await _check_campaign(request, campaign_id)
        await operators.start_session(account, campaign_id)
    elif wanted == "ready":
        await operators.set_ready(account)
    elif wanted == "paused":
        await operators.pause(account, reason or "pause")
    else:
        await operators.end_session(account)
    log.info("operator_state_requested", operator_id=account.id, state=wanted)

    return web.json_response(await _snapshot(request, account))


async def _check_campaign(request: web.Request, campaign_id: int | None) -> None:
    if campaign_id is None:
        return
    found = await ctx(request).pool.fetchval(
        "SELECT 1 FROM campaigns WHERE id = $1", campaign_id
    )
    if found is None:
        raise ApiError(422, "invalid_field", f"no campaign {campaign_id}")


async def _own_call(request: web.Request, account: Account) -> tuple[str, str]:
    """The call id of the URL and its kind, if the call is the actor's to touch."""
    call_id = request.match_info["call_id"]
    async with ctx(request).pool.acquire() as conn:
        try:
            call = await load_call(conn, call_id)
        except DispositionError:
            raise ApiError(404, "call_not_found", f"no call {call_id}") from None
    check_access(account, call, "touch")

    return call_id, call.kind


@routes.post("/api/calls/{call_id}/identity")
@login_required()
async def identity_verified(request: web.Request) -> web.Response:
    """Record that the customer passed the script's identity check."""
    account = await account_of(request)
    call_id, _ = await _own_call(request, account)
    await ctx(request).operators.verify_identity(account, call_id)

    return web.json_response({"call_id": call_id, "identity_verified": True})


@routes.post("/api/calls/{call_id}/hangup")
@login_required()
async def hang_up(request: web.Request) -> web.Response:
    """End the customer's leg of the operator's own live call."""
    account = await account_of(request)
    call_id, _ = await _own_call(request, account)
    await ctx(request).operators.hang_up(account, call_id)

    return web.json_response({"call_id": call_id, "hangup_requested": True})


@routes.post("/api/calls/{call_id}/disposition")
@login_required()
async def disposition(request: web.Request) -> web.Response:
    """Store the operator's disposition of their own call."""
    account = await account_of(request)
    call_id, kind = await _own_call(request, account)
    form = await _disposition_form(request, call_id, kind)
    paused = await ctx(request).operators.dispose(account, form)
    body = {"call_id": call_id, "outcome": form.outcome, "campaign_paused": paused}

    return web.json_response(body, status=201)


async def _disposition_form(
    request: web.Request, call_id: str, kind: str
) -> DispositionForm:
    body = await read_json(request, DISPOSITION_FIELDS)
    outcome = text_field(body, "outcome", required=True, max_length=64)
    assert outcome is not None
    if outcome not in outcome_codes(kind):
        raise ApiError(
            422, "invalid_field", f"outcome {outcome!r} does not fit a {kind} call"
        )
    timezone = await ctx(request).pool.fetchval(
        "SELECT c.timezone FROM call_attempts a JOIN campaigns c"
        " ON c.id = a.campaign_id WHERE a.id = $1",
        call_id,
    )

    return DispositionForm(
        call_id=call_id,
        outcome=outcome,
        notes=text_field(body, "notes", max_length=4000) or "",
        callback_at=datetime_field(body, "callback_at", timezone),
        refusal=bool_field(body, "refusal"),
        complaint=bool_field(body, "complaint"),
        fraud_suspected=bool_field(body, "fraud_suspected"),
        aml_suspected=bool_field(body, "aml_suspected"),
    )
