"""
The directors' live board: operators, calls in progress, campaign progress and
open escalations, for directors and admins only.

    GET /board          the page (filled by board.js)
    GET /api/board      one JSON snapshot; the page polls it every 2 seconds
    POST /api/escalations/{id}/acknowledge   a director has handled it
    POST /api/calls/{id}/supervise           {"mode": "listen"|"whisper"|"barge"}
    POST /api/supervisions/{id}/end          leave a supervised call

Supervision works from this process too: the request is a row and a NOTIFY,
and the engine holding the operator's leg calls the director's softphone.

The snapshot is ``OperatorService.board`` (which also feeds
``outdial campaign status --watch``) plus each campaign's contacts by state,
read through the per-state contact index. Customer numbers are masked.
"""

from datetime import datetime
from typing import Any

from aiohttp import web

from engine.operators.board import Board, CallLine, OperatorLine
from engine.operators.service import Escalation
from engine.web.auth import SUPERVISORS, account_of, login_required
from engine.web.context import ctx
from engine.web.exceptions import ApiError
from engine.web.inputs import read_json, text_field
from engine.web.render import render

routes = web.RouteTableDef()

MODES = ("listen", "whisper", "barge")
_MINE = """
SELECT id, call_id, operator_id, mode, supervisor_channel_id IS NOT NULL AS joined,
       started_at
FROM supervision_sessions
WHERE supervisor_id = $1 AND ended_at IS NULL
ORDER BY started_at
"""
_CONTACTS = """
SELECT campaign_id, state, count(*) AS n FROM contacts
WHERE campaign_id = ANY($1::bigint[]) GROUP BY campaign_id, state
"""


@routes.get("/board")
@login_required(*SUPERVISORS)
async def board_page(request: web.Request) -> web.StreamResponse:
    """The live board page; its script polls the board API."""
    return render(request, "board.html")


@routes.get("/api/board")
@login_required(*SUPERVISORS)
async def board_snapshot(request: web.Request) -> web.Response:
    """Operators, live calls, campaign progress and open escalations, now."""
    account = await account_of(request)
    operators = ctx(request).operators
    board = await operators.board(account)
    escalations = await operators.escalations(account)
    contacts = await _contacts_by_state(
        request, [c.campaign_id for c in board.campaigns]
    )
    body = _board_view(board, escalations[:50], contacts)
    body["supervising"] = [
        dict(r) | {"started_at": r["started_at"].isoformat()}
        for r in await ctx(request).pool.fetch(_MINE, account.id)
    ]

    return web.json_response(body)


@routes.post("/api/calls/{call_id}/supervise")
@login_required(*SUPERVISORS)
async def supervise(request: web.Request) -> web.Response:
    """Listen in on, whisper to or barge into a live call."""
    body = await read_json(request, {"mode"})
    mode = text_field(body, "mode", required=True, max_length=20)
    if mode not in MODES:
        raise ApiError(422, "invalid_field", f"mode must be one of {', '.join(MODES)}")
    call_id = request.match_info["call_id"]
    supervision_id = await ctx(request).operators.supervise(
        await account_of(request), call_id, mode
    )

    return web.json_response(
        {"supervision_id": supervision_id, "call_id": call_id, "mode": mode},
        status=201,
    )


@routes.post(r"/api/supervisions/{supervision_id:\d+}/end")
@login_required(*SUPERVISORS)
async def end_supervision(request: web.Request) -> web.Response:
    """Leave a supervised call."""
    supervision_id = int(request.match_info["supervision_id"])
    await ctx(request).operators.end_supervision(
        await account_of(request), supervision_id
    )

    return web.json_response({"supervision_id": supervision_id, "ended": True})


@routes.post(r"/api/escalations/{escalation_id:\d+}/acknowledge")
@login_required(*SUPERVISORS)
async def acknowledge(request: web.Request) -> web.Response:
    """Mark an open escalation as handled by the acting director."""
    escalation_id = int(request.match_info["escalation_id"])
    await ctx(request).operators.acknowledge(await account_of(request), escalation_id)

    return web.json_response({"id": escalation_id, "state": "acknowledged"})


async def _contacts_by_state(
    request: web.Request, campaign_ids: list[int]
) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {i: {} for i in campaign_ids}
    for row in await ctx(request).pool.fetch(_CONTACTS, campaign_ids):
        found[row["campaign_id"]][row["state"]] = row["n"]

    return found


def _board_view(
    board: Board, escalations: list[Escalation], contacts: dict[int, dict[str, int]]
) -> dict[str, Any]:
    now = board.at

    return {
        "now": now.isoformat(),
        "operators": [_operator_view(o, now) for o in board.operators],
        "calls": [_call_view(c, now) for c in board.calls],
        "campaigns": [
            _campaign_view(c, contacts.get(c.campaign_id, {})) for c in board.campaigns
        ],
        "open_escalations": board.open_escalations,
        "escalations": [_escalation_view(e) for e in escalations],
    }


def _operator_view(line: OperatorLine, now: datetime) -> dict[str, Any]:
    return {
        "id": line.operator_id,
        "name": line.name,
        "team": line.team,
        "state": line.state,
        "in_state_s": _age(line.state_since, now),
        "pause_reason": line.pause_reason,
        "call_id": line.call_id,
        "calls_taken": line.calls_taken,
        "campaign_id": line.campaign_id,
    }


def _call_view(line: CallLine, now: datetime) -> dict[str, Any]:
    return {
        "id": line.call_id,
        "campaign": line.campaign,
        "phone": line.phone,
        "state": line.state,
        "operator": line.operator_id,
        "duration_s": _age(line.answered_at, now) if line.answered_at else None,
    }


def _escalation_view(escalation: Escalation) -> dict[str, Any]:
    return {
        "id": escalation.id,
        "kind": escalation.kind,
        "campaign_id": escalation.campaign_id,
        "call_id": escalation.call_id,
        "operator": escalation.operator_id,
        "at": escalation.created_at.isoformat(),
        "notes": str(escalation.details.get("notes") or "")[:300],
    }


def _campaign_view(line: Any, contacts: dict[str, int]) -> dict[str, Any]:
    total = sum(contacts.values())
    open_ = contacts.get("pending", 0) + contacts.get("leased", 0)

    return {
        "id": line.campaign_id,
        "name": line.name,
        "state": line.state,
        "state_reason": line.state_reason,
        "contacts": contacts,
        "total": total,
        "progress": round((total - open_) / total, 4) if total else 0.0,
        "in_progress": line.in_progress,
        "connected": line.connected,
        "abandoned": line.abandoned,
        "complaints": line.complaints,
        "free_operators": line.free_operators,
    }


def _age(since: datetime, now: datetime) -> int:
    return max(round((now - since).total_seconds()), 0)
