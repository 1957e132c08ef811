"""
The directors' live board: operators, calls in progress, campaign progress and
open escalations, for directors and admins only.

    GET /board          the page (filled by board.js)
    GET /api/board      one JSON snapshot; the page polls it every 2 seconds

Customer numbers on the board are masked: a director who needs more opens the
call from the reports. Campaign progress reads the per-state contact index and
the hourly attempt counters of the reports package, not the attempts table.
"""

from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from engine.web.auth import SUPERVISORS, login_required
from engine.web.calls import masked_phone
from engine.web.context import ctx
from engine.web.render import render

routes = web.RouteTableDef()

_OPERATORS = """
SELECT s.operator_id, o.name, o.team, s.state, s.state_since, s.wrap_up_until,
       s.pause_reason, s.call_id, s.calls_taken, s.campaign_id, c.name AS campaign
FROM operator_sessions s
JOIN operators o ON o.id = s.operator_id
LEFT JOIN campaigns c ON c.id = s.campaign_id
WHERE s.state <> 'logged_out'
ORDER BY o.team NULLS LAST, s.operator_id
"""
_CALLS = """
SELECT a.id, a.state, a.phone, a.answered_at, a.created_at, c.name AS campaign,
       oc.operator_id
FROM call_attempts a
JOIN campaigns c ON c.id = a.campaign_id
LEFT JOIN operator_calls oc ON oc.call_id = a.id
WHERE a.state <> 'ended'
ORDER BY a.created_at
LIMIT 500
"""
_CAMPAIGNS = """
SELECT c.id, c.name, c.kind, c.state, c.state_reason,
       (SELECT coalesce(jsonb_object_agg(state, n), '{}') FROM
          (SELECT state, count(*) AS n FROM contacts WHERE campaign_id = c.id
           GROUP BY state) s) AS contacts,
       (SELECT coalesce(jsonb_object_agg(outcome, n), '{}') FROM
          (SELECT outcome, sum(attempts) AS n FROM report_hourly
           WHERE campaign_id = c.id AND hour >= $1 GROUP BY outcome) h) AS today
FROM campaigns c
WHERE c.state IN ('running', 'paused')
ORDER BY c.name
"""
_ESCALATIONS = """
SELECT e.id, e.kind, e.call_id, e.operator_id, e.created_at, c.name AS campaign
FROM escalations e JOIN campaigns c ON c.id = e.campaign_id
WHERE e.state = 'open'
ORDER BY e.created_at DESC
LIMIT 50
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
    context = ctx(request)
    now = context.clock.now()
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    async with context.pool.acquire() as conn:
        body = {
            "now": now.isoformat(),
            "operators": [_operator(r, now) for r in await conn.fetch(_OPERATORS)],
            "calls": [_call(r, now) for r in await conn.fetch(_CALLS)],
            "campaigns": [_campaign(r) for r in await conn.fetch(_CAMPAIGNS, since)],
            "escalations": [_escalation(r) for r in await conn.fetch(_ESCALATIONS)],
        }

    return web.json_response(body)


def _operator(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    wrap_up_over = (
        row["state"] == "wrap_up"
        and row["wrap_up_until"] is not None
        and row["wrap_up_until"] <= now
    )

    return {
        "id": row["operator_id"],
        "name": row["name"],
        "team": row["team"],
        "state": "ready" if wrap_up_over else row["state"],
        "in_state_s": _age(row["state_since"], now),
        "pause_reason": row["pause_reason"],
        "call_id": row["call_id"],
        "calls_taken": row["calls_taken"],
        "campaign": row["campaign"],
    }


def _call(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    started = row["answered_at"] or row["created_at"]

    return {
        "id": row["id"],
        "state": row["state"],
        "phone": masked_phone(row["phone"]),
        "campaign": row["campaign"],
        "operator": row["operator_id"],
        "duration_s": _age(started, now),
    }


def _campaign(row: asyncpg.Record) -> dict[str, Any]:
    contacts: dict[str, int] = row["contacts"]
    today: dict[str, int] = {k: int(v) for k, v in row["today"].items()}
    total = sum(contacts.values())
    open_ = contacts.get("pending", 0) + contacts.get("leased", 0)

    return {
        "id": row["id"],
        "name": row["name"],
        "kind": row["kind"],
        "state": row["state"],
        "state_reason": row["state_reason"],
        "contacts": contacts,
        "total": total,
        "progress": round((total - open_) / total, 4) if total else 0.0,
        "attempts_today": sum(today.values()),
        "answered_today": today.get("answered", 0),
        "abandoned_today": today.get("abandoned", 0),
    }


def _escalation(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "campaign": row["campaign"],
        "call_id": row["call_id"],
        "operator": row["operator_id"],
        "at": row["created_at"].isoformat(),
    }


def _age(since: datetime, now: datetime) -> int:
    return max(round((now - since).total_seconds()), 0)
