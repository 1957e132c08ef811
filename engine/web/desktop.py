"""
The operator desktop: the page, and the small JSON API its script polls.

    GET  /                              the page (static shell, filled by desktop.js)
    GET  /api/desktop                   state, wrap-up countdown, current call, script
    GET  /api/desktop/stats             today's figures, this operator only
    GET  /api/desktop/calls             this operator's latest calls, masked
    POST /api/desktop/state             {"state": "connecting"|"ready"|"paused"|
                                         "logged_out", "campaign_id"?, "reason"?}
    POST /api/calls/{id}/identity       {"verified": true|false}
    GET  /api/calls/{id}/customer       the unmasked customer (after verification)
    POST /api/calls/{id}/disposition    see ``engine.web.disposition_form``

Every call id is checked against the logged-in operator (``engine.web.calls``).
The page polls ``/api/desktop`` once a second: one session lookup and two
indexed queries, small enough for a few hundred operators per web process.
"""

from typing import Any

import structlog
from aiohttp import web

from engine.db.audit import audit
from engine.operators.sessions import (
    NOTIFY_CHANNEL,
    Session,
    SessionRepository,
    SessionState,
    transition,
)
from engine.web import calls
from engine.web.auth import login_required, operator_of
from engine.web.context import ctx
from engine.web.disposition_form import outcomes_for, save_disposition
from engine.web.exceptions import ApiError
from engine.web.inputs import bool_field, int_field, read_json, text_field
from engine.web.render import render
from engine.web.scripts import fill_script, load_script

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

# The states an operator may ask for; the engine sets on_call and wrap_up.
REQUESTABLE = {
    "connecting": None,
    "ready": SessionState.READY,
    "paused": SessionState.PAUSED,
    "logged_out": SessionState.LOGGED_OUT,
}


@routes.get("/")
@login_required()
async def desktop_page(request: web.Request) -> web.StreamResponse:
    """The operator's desktop page; its script fills it from the API."""
    return render(request, "desktop.html")


@routes.get("/api/desktop")
@login_required()
async def desktop_state(request: web.Request) -> web.Response:
    """Everything the desktop shows that changes from second to second."""
    operator_id = operator_of(request)
    context = ctx(request)
    now = context.clock.now()
    session = await SessionRepository(context.pool).live_for(operator_id)
    row = await calls.current_call(
        context.pool, operator_id, session.call_id if session else None
    )
    body: dict[str, Any] = {
        "operator": operator_id,
        "now": now.isoformat(),
        "session": _session_view(session, now),
        "call": None,
        "campaigns": [] if session else await _open_campaigns(request),
    }
    if row is not None:
        body["call"] = await _call_with_script(request, row, operator_id)

    return web.json_response(body)


def _session_view(session: Session | None, now: Any) -> dict[str, Any] | None:
    if session is None:
        return None
    state = session.effective_state(now)

    return {
        "id": session.id,
        "state": state.value,
        "since": session.state_since.isoformat(),
        "campaign_id": session.campaign_id,
        "wrap_up_left_s": calls.seconds_until(session.wrap_up_until, now)
        if state is SessionState.WRAP_UP
        else None,
        "pause_reason": session.pause_reason,
        "calls_taken": session.calls_taken,
    }


async def _call_with_script(
    request: web.Request, row: Any, operator_id: str
) -> dict[str, Any]:
    context = ctx(request)
    view = calls.call_view(row)
    script = await load_script(context.pool, row["campaign_id"])
    view["script"] = fill_script(
        script, institution=context.settings.institution_name, operator=operator_id
    )
    view["outcomes"] = [
        {"code": code, "label": label} for code, label in outcomes_for(row["kind"])
    ]

    return view


async def _open_campaigns(request: web.Request) -> list[dict[str, Any]]:
    rows = await ctx(request).pool.fetch(
        "SELECT id, name, kind FROM campaigns WHERE state IN ('running', 'paused')"
        " ORDER BY name LIMIT 100"
    )

    return [dict(r) for r in rows]


@routes.get("/api/desktop/stats")
@login_required()
async def desktop_stats(request: web.Request) -> web.Response:
    """Today's figures of the logged-in operator."""
    operator_id = operator_of(request)
    context = ctx(request)
    stats = await calls.own_statistics(context.pool, operator_id, context.clock.now())

    return web.json_response(stats)


@routes.get("/api/desktop/calls")
@login_required()
async def desktop_calls(request: web.Request) -> web.Response:
    """The logged-in operator's latest calls, masked."""
    operator_id = operator_of(request)

    return web.json_response(
        {"calls": await calls.recent_calls(ctx(request).pool, operator_id)}
    )


@routes.post("/api/desktop/state")
@login_required()
async def change_state(request: web.Request) -> web.Response:
    """Start a softphone session, or move the live one to ready/paused/logged out."""
    operator_id = operator_of(request)
    body = await read_json(request, {"state", "campaign_id", "reason"})
    wanted = text_field(body, "state", required=True)
    if wanted not in REQUESTABLE:
        raise ApiError(
            422, "invalid_field", f"state must be one of {', '.join(REQUESTABLE)}"
        )
    reason = text_field(body, "reason", max_length=100)
    if wanted == "connecting":
        await _start_softphone(request, operator_id, int_field(body, "campaign_id"))
    else:
        await _move(request, operator_id, REQUESTABLE[wanted], reason)

    return await desktop_state(request)


async def _start_softphone(
    request: web.Request, operator_id: str, campaign_id: int | None
) -> None:
    context = ctx(request)
    account = await context.accounts.get(operator_id)
    if account.endpoint is None:
        raise ApiError(409, "no_softphone", "no softphone is set for you; ask an admin")
    if campaign_id is not None:
        exists = await context.pool.fetchval(
            "SELECT 1 FROM campaigns WHERE id = $1", campaign_id
        )
        if exists is None:
            raise ApiError(422, "invalid_field", f"no campaign {campaign_id}")
    repo = SessionRepository(context.pool)
    if await repo.live_for(operator_id) is not None:
        raise ApiError(409, "session_live", "your softphone session is already open")
    await repo.open(operator_id, campaign_id, context.clock.now())
    log.info("desktop_session_requested", operator_id=operator_id)


async def _move(
    request: web.Request,
    operator_id: str,
    to: SessionState | None,
    reason: str | None,
) -> None:
    assert to is not None
    context = ctx(request)
    session = await SessionRepository(context.pool).live_for(operator_id)
    if session is None:
        raise ApiError(409, "no_session", "start your softphone session first")
    if to is SessionState.LOGGED_OUT and session.state is SessionState.ON_CALL:
        raise ApiError(409, "on_call", "finish the call before logging out")
    async with context.pool.acquire() as conn, conn.transaction():
        row = await transition(
            conn, session.id, to, context.clock.now(), reason=reason or "operator"
        )
        if row is None:
            raise ApiError(
                409,
                "bad_transition",
                f"cannot go from {session.state.value} to {to.value}",
            )
        await audit(
            conn,
            operator_id,
            f"operator_{to.value}",
            "operator_session",
            session.id,
            reason=reason,
            via="web",
        )
        # Wakes the engine holding the softphone leg (it hangs up a logged-out
        # leg on its next tick; this makes that tick now).
        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, str(session.id))
    log.info("operator_state_requested", operator_id=operator_id, state=to.value)


@routes.post("/api/calls/{call_id}/identity")
@login_required()
async def identity_check(request: web.Request) -> web.Response:
    """Record whether the customer passed the script's identity check."""
    operator_id = operator_of(request)
    call_id = request.match_info["call_id"]
    body = await read_json(request, {"verified"})
    if "verified" not in body:
        raise ApiError(422, "missing_field", "verified is required")
    verified = bool_field(body, "verified")
    await calls.record_identity_check(ctx(request).pool, operator_id, call_id, verified)

    return web.json_response({"call_id": call_id, "identity_verified": verified})


@routes.get("/api/calls/{call_id}/customer")
@login_required()
async def reveal_customer(request: web.Request) -> web.Response:
    """The unmasked customer of a verified call of this operator."""
    operator_id = operator_of(request)
    call_id = request.match_info["call_id"]

    return web.json_response(
        await calls.reveal_customer(ctx(request).pool, operator_id, call_id)
    )


@routes.post("/api/calls/{call_id}/disposition")
@login_required()
async def disposition(request: web.Request) -> web.Response:
    """Store the operator's disposition of their call."""
    operator_id = operator_of(request)
    call_id = request.match_info["call_id"]
    result = await save_disposition(request, operator_id, call_id)

    return web.json_response(result, status=201)
