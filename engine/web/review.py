"""
Quality review in the browser: recorded calls, playback, scoring.

    GET  /review                       recorded calls the viewer may see, and
                                       quality per operator (an operator: own)
    GET  /review/{id}                  one recording: player, call, evaluations,
                                       the scoring form for directors and admins
    GET  /review/{id}/audio            the WAV file, streamed (Range supported)
    POST /review/{id}/evaluation       points_<criterion id>, comment (form)
    GET  /api/review/calls/{call}/form the call's evaluation form (JSON), for
                                       scoring live while listening in
    POST /api/review/calls/{call}/evaluation
                                       {"points": {"<criterion id>": n},
                                        "comment"?}: score a call, live or not

Who may open what is decided in ``engine.reports.playback``: an operator only
their own calls, a director their team's. Each playback is audited once: the
request for the start of the file (a browser may fetch further ranges while
playing, which are not new playbacks).
"""

from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from engine.logging import mask_name
from engine.reports.access import Viewer, audit_read, viewer
from engine.reports.exceptions import (
    AccessDeniedError,
    RecordingNotFoundError,
    ReportError,
)
from engine.reports.masking import mask_phone_number
from engine.reports.playback import check_recording_access, open_for_playback
from engine.reports.quality import (
    REVIEWERS,
    active_form,
    call_owner,
    evaluations_of_call,
    operator_quality,
    score_call,
)
from engine.web.auth import login_required, operator_of
from engine.web.context import ctx
from engine.web.exceptions import ApiError
from engine.web.inputs import read_json, text_field
from engine.web.render import render

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

MAX_LISTED = 200
MAX_COMMENT = 4000


async def _viewer(request: web.Request) -> Viewer:
    try:
        return await viewer(ctx(request).pool, operator_of(request))
    except AccessDeniedError as exc:
        raise ApiError(403, "forbidden", str(exc)) from exc


def _recording_id(request: web.Request) -> int:
    return int(request.match_info["rid"])


def _refusal(exc: ReportError) -> ApiError:
    if isinstance(exc, AccessDeniedError):
        return ApiError(403, "forbidden", str(exc))
    if isinstance(exc, RecordingNotFoundError):
        return ApiError(404, "not_found", str(exc))
    return ApiError(422, "invalid_input", str(exc))


@routes.get("/review")
@login_required()
async def review_list(request: web.Request) -> web.StreamResponse:
    """Recorded calls the viewer may see, newest first, with quality figures."""
    who = await _viewer(request)
    pool = ctx(request).pool
    scope = who.scope
    rows = await pool.fetch(
        """
        SELECT r.id, r.attempt_id, r.duration_s::float8 AS duration_s, r.started_at,
               c.name AS campaign, a.phone, oc.operator_id, o.team,
               (SELECT count(*) FROM evaluations e WHERE e.attempt_id = r.attempt_id)
                   AS evaluations
        FROM recordings r
        JOIN campaigns c ON c.id = r.campaign_id
        JOIN call_attempts a ON a.id = r.attempt_id
        LEFT JOIN operator_calls oc ON oc.call_id = r.attempt_id
        LEFT JOIN operators o ON o.id = oc.operator_id
        WHERE r.state = 'archived'
          AND ($1::text[] IS NULL OR oc.operator_id = ANY($1))
          AND ($2::text[] IS NULL OR o.team = ANY($2))
        ORDER BY r.id DESC LIMIT $3
        """,
        *scope.as_arrays(),
        MAX_LISTED,
    )
    calls = [{**dict(r), "phone": mask_phone_number(r["phone"])} for r in rows]
    quality = await operator_quality(pool, None, scope)
    await audit_read(
        pool, who, "recordings_listed", "recordings", None, shown=len(calls)
    )

    return render(request, "review.html", calls=calls, quality=quality, who=who)


@routes.get(r"/review/{rid:\d+}")
@login_required()
async def review_call(request: web.Request) -> web.StreamResponse:
    """One recording: the player, the call, its evaluations, the scoring form."""
    who = await _viewer(request)
    pool = ctx(request).pool
    try:
        row = await check_recording_access(pool, who, _recording_id(request))
    except ReportError as exc:
        raise _refusal(exc) from exc
    call = await pool.fetchrow(
        "SELECT a.id, a.phone, a.outcome, a.created_at, a.answered_at, a.ended_at,"
        " k.name, d.outcome AS disposition"
        " FROM call_attempts a JOIN contacts k ON k.id = a.contact_id"
        " LEFT JOIN dispositions d ON d.call_id = a.id WHERE a.id = $1",
        row["attempt_id"],
    )
    form = (
        await active_form(pool, row["campaign_id"]) if who.role in REVIEWERS else None
    )
    await audit_read(
        pool, who, "call_viewed", "call", row["attempt_id"], recording=row["id"]
    )

    return render(
        request,
        "review_call.html",
        recording=row,
        call=_masked_call(call),
        evaluations=await evaluations_of_call(pool, row["attempt_id"]),
        form=form,
        who=who,
    )


def _masked_call(call: Any) -> dict[str, Any]:
    values = dict(call)
    values["phone"] = mask_phone_number(values["phone"])
    values["name"] = mask_name(values["name"] or "")
    return values


@routes.get(r"/review/{rid:\d+}/audio")
@login_required()
async def review_audio(request: web.Request) -> web.StreamResponse:
    """Stream a recording's WAV file; the start of each playback is audited."""
    who = await _viewer(request)
    first_request = request.headers.get("Range", "bytes=0-").startswith("bytes=0-")
    try:
        recording = await open_for_playback(
            ctx(request).pool,
            who,
            _recording_id(request),
            Path.cwd(),
            audited=first_request,
        )
    except ReportError as exc:
        raise _refusal(exc) from exc
    if first_request:
        log.info(
            "recording_played", recording_id=recording.recording_id, actor=who.actor
        )

    return web.FileResponse(
        recording.path,
        headers={"Content-Type": "audio/wav", "Cache-Control": "no-store, private"},
    )


@routes.post(r"/review/{rid:\d+}/evaluation")
@login_required(*REVIEWERS)
async def review_score(request: web.Request) -> web.StreamResponse:
    """Score the recording's call against its campaign's active form."""
    who = await _viewer(request)
    pool = ctx(request).pool
    data = await request.post()
    rid = _recording_id(request)
    try:
        row = await check_recording_access(pool, who, rid)
        form = await active_form(pool, row["campaign_id"])
        if form is None:
            raise ReportError("the campaign has no evaluation form")
        points = {cid: _int_field(data, f"points_{cid}") for cid, _ in form.criteria}
        comment = str(data.get("comment", "")).strip()[:MAX_COMMENT] or None
        async with pool.acquire() as conn:
            await score_call(conn, who, row["attempt_id"], form, points, comment)
    except ReportError as exc:
        raise _refusal(exc) from exc

    raise web.HTTPSeeOther(f"/review/{rid}")


@routes.get("/api/review/calls/{call_id}/form")
@login_required(*REVIEWERS)
async def live_form(request: web.Request) -> web.StreamResponse:
    """The evaluation form of a call's campaign, to score it while listening."""
    pool = ctx(request).pool
    owner = await call_owner(pool, request.match_info["call_id"])
    if owner is None:
        raise ApiError(404, "not_found", "no such call")
    form = await active_form(pool, owner["campaign_id"])
    if form is None:
        raise ApiError(404, "not_found", "the campaign has no evaluation form")
    criteria = [
        {"id": cid, "label": c.label, "weight": c.weight, "max_points": c.max_points}
        for cid, c in form.criteria
    ]

    return web.json_response(
        {
            "form_id": form.id,
            "name": form.name,
            "pass_mark": form.pass_mark,
            "criteria": criteria,
        }
    )


@routes.post("/api/review/calls/{call_id}/evaluation")
@login_required(*REVIEWERS)
async def live_score(request: web.Request) -> web.StreamResponse:
    """Score a call; while it is in progress the reviewer must be listening in."""
    who = await _viewer(request)
    pool = ctx(request).pool
    call_id = request.match_info["call_id"]
    body = await read_json(request, {"points", "comment"})
    points = body.get("points")
    if not isinstance(points, dict) or not all(
        str(k).isdigit() and type(v) is int for k, v in points.items()
    ):
        raise ApiError(422, "invalid_field", "points must map criterion ids to numbers")
    comment = text_field(body, "comment", max_length=MAX_COMMENT)
    try:
        owner = await call_owner(pool, call_id)
        if owner is None:
            raise ReportError(f"no call {call_id}")
        form = await active_form(pool, owner["campaign_id"])
        if form is None:
            raise ReportError("the campaign has no evaluation form")
        async with pool.acquire() as conn:
            result = await score_call(
                conn,
                who,
                call_id,
                form,
                {int(k): v for k, v in points.items()},
                comment,
            )
    except ReportError as exc:
        raise _refusal(exc) from exc

    return web.json_response(
        {
            "evaluation_id": result.id,
            "score": result.score,
            "passed": result.passed,
            "live": result.live,
        }
    )


def _int_field(data: Any, name: str) -> int:
    value = str(data.get(name, "")).strip()
    if not value.isdigit():
        raise ReportError(f"{name} must be a whole number")
    return int(value)
