"""
Quality review: evaluation forms per campaign, scores per recorded call, and
per-operator quality reports.

A form has weighted criteria, each scored from 0 to its ``max_points``; a
call's score is the weighted mean of points/max_points, in percent:

    score = 100 * sum(weight_i * points_i / max_i) / sum(weight_i)

and the call passes when score >= the form's pass mark. Directors and admins
score calls (directors only their team's); scoring a call still in progress
is a live evaluation and needs the reviewer to be listening in (an open
``supervision_sessions`` row). Operators read their own evaluations, with
comments. Every evaluation is audited.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from engine.db.audit import audit
from engine.reports.access import Viewer
from engine.reports.exceptions import AccessDeniedError, ReportError
from engine.reports.stats import Scope, load_campaign

REVIEWERS = ("director", "admin")


@dataclass(frozen=True)
class Criterion:
    """One line of a form: what is judged, its weight and its scale."""

    label: str
    weight: float
    max_points: int = 5


@dataclass(frozen=True)
class Form:
    """An evaluation form with its criteria, in order."""

    id: int
    campaign_id: int
    name: str
    pass_mark: float
    criteria: tuple[tuple[int, Criterion], ...]


@dataclass(frozen=True)
class Evaluation:
    """A reviewer's scoring of one call."""

    id: int
    score: float
    passed: bool
    live: bool


def weighted_score(form: Form, points: dict[int, int]) -> float:
    """The call's score in percent from points per criterion id."""
    total_weight = sum(c.weight for _, c in form.criteria)
    earned = sum(c.weight * points[cid] / c.max_points for cid, c in form.criteria)

    return round(100 * earned / total_weight, 2)


async def create_form(
    conn: asyncpg.Connection,
    who: Viewer,
    campaign: str | int,
    name: str,
    pass_mark: float,
    criteria: list[Criterion],
) -> Form:
    """Create a campaign's evaluation form (directors and admins)."""
    if who.role not in REVIEWERS:
        raise AccessDeniedError(who.actor, "create evaluation forms")
    if not criteria:
        raise ReportError("an evaluation form needs at least one criterion")
    if not 0 <= pass_mark <= 100:
        raise ReportError(f"pass mark must be between 0 and 100, not {pass_mark}")
    camp = await load_campaign(conn, campaign)
    async with conn.transaction():
        form_id = await conn.fetchval(
            "INSERT INTO evaluation_forms (campaign_id, name, pass_mark, created_by)"
            " VALUES ($1, $2, $3, $4) RETURNING id",
            camp["id"],
            name,
            pass_mark,
            who.actor,
        )
        await conn.executemany(
            "INSERT INTO evaluation_criteria (form_id, position, label, weight,"
            " max_points) VALUES ($1, $2, $3, $4, $5)",
            [
                (form_id, i, c.label, c.weight, c.max_points)
                for i, c in enumerate(criteria, start=1)
            ],
        )
        await audit(
            conn, who.actor, "evaluation_form_created", "evaluation_form", form_id
        )

    return await load_form(conn, form_id)


async def load_form(conn: asyncpg.Connection | asyncpg.Pool, form_id: int) -> Form:
    """A form and its criteria."""
    row = await conn.fetchrow(
        "SELECT id, campaign_id, name, pass_mark FROM evaluation_forms WHERE id = $1",
        form_id,
    )
    if row is None:
        raise ReportError(f"no evaluation form {form_id}")
    rows = await conn.fetch(
        "SELECT id, label, weight, max_points FROM evaluation_criteria"
        " WHERE form_id = $1 ORDER BY position",
        form_id,
    )
    criteria = tuple(
        (r["id"], Criterion(r["label"], float(r["weight"]), r["max_points"]))
        for r in rows
    )

    return Form(
        row["id"], row["campaign_id"], row["name"], float(row["pass_mark"]), criteria
    )


async def active_form(
    conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int
) -> Form | None:
    """The campaign's newest active form, if it has one."""
    form_id = await conn.fetchval(
        "SELECT id FROM evaluation_forms WHERE campaign_id = $1 AND active"
        " ORDER BY id DESC LIMIT 1",
        campaign_id,
    )
    return None if form_id is None else await load_form(conn, form_id)


async def call_owner(
    conn: asyncpg.Connection | asyncpg.Pool, attempt_id: str
) -> asyncpg.Record | None:
    """Who took a call: operator id, team, campaign and call state."""
    return await conn.fetchrow(
        "SELECT oc.operator_id, o.team, a.campaign_id, a.state"
        " FROM call_attempts a"
        " LEFT JOIN operator_calls oc ON oc.call_id = a.id"
        " LEFT JOIN operators o ON o.id = oc.operator_id WHERE a.id = $1",
        attempt_id,
    )


async def score_call(
    conn: asyncpg.Connection,
    who: Viewer,
    attempt_id: str,
    form: Form,
    points: dict[int, int],
    comment: str | None = None,
    criterion_comments: dict[int, str] | None = None,
) -> Evaluation:
    """Score one call against a form; re-scoring replaces the reviewer's own."""
    owner = await _check_reviewable(conn, who, attempt_id, form)
    _check_points(form, points)
    live = owner["state"] != "ended"
    if live:
        await _check_listening(conn, who, attempt_id)
    score = weighted_score(form, points)
    passed = score >= form.pass_mark
    async with conn.transaction():
        evaluation_id = await _upsert(
            conn, who, attempt_id, form, score, passed, live, comment
        )
        await _save_points(conn, evaluation_id, points, criterion_comments or {})
        await audit(
            conn,
            who.actor,
            "call_evaluated",
            "call",
            attempt_id,
            form_id=form.id,
            score=score,
            passed=passed,
            live=live,
            operator=owner["operator_id"],
        )

    return Evaluation(evaluation_id, score, passed, live)


async def _check_reviewable(
    conn: asyncpg.Connection, who: Viewer, attempt_id: str, form: Form
) -> asyncpg.Record:
    if who.role not in REVIEWERS:
        raise AccessDeniedError(who.actor, "score calls")
    owner = await call_owner(conn, attempt_id)
    if owner is None or owner["operator_id"] is None:
        raise ReportError(f"call {attempt_id} was not taken by an operator")
    if owner["campaign_id"] != form.campaign_id:
        raise ReportError(f"form {form.id} is not a form of the call's campaign")
    if not who.may_see_operator(owner["operator_id"], owner["team"]):
        raise AccessDeniedError(who.actor, f"score call {attempt_id} of another team")
    return owner


def _check_points(form: Form, points: dict[int, int]) -> None:
    for cid, criterion in form.criteria:
        if cid not in points:
            raise ReportError(f"no points for criterion {criterion.label!r}")
        if not 0 <= points[cid] <= criterion.max_points:
            raise ReportError(
                f"points for {criterion.label!r} must be 0 to {criterion.max_points}"
            )
    unknown = set(points) - {cid for cid, _ in form.criteria}
    if unknown:
        raise ReportError(f"criteria not on form {form.id}: {sorted(unknown)}")


async def _check_listening(
    conn: asyncpg.Connection, who: Viewer, attempt_id: str
) -> None:
    listening = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM supervision_sessions WHERE call_id = $1"
        " AND supervisor_id = $2 AND ended_at IS NULL)",
        attempt_id,
        who.actor,
    )
    if not listening:
        raise AccessDeniedError(who.actor, "score a live call without listening in")


async def _upsert(
    conn: asyncpg.Connection,
    who: Viewer,
    attempt_id: str,
    form: Form,
    score: float,
    passed: bool,
    live: bool,
    comment: str | None,
) -> int:
    return await conn.fetchval(
        "INSERT INTO evaluations (form_id, attempt_id, reviewer, live, score, passed,"
        " comment) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (form_id, attempt_id, reviewer) DO UPDATE SET live = $4,"
        " score = $5, passed = $6, comment = $7, created_at = now() RETURNING id",
        form.id,
        attempt_id,
        who.actor,
        live,
        Decimal(str(score)),
        passed,
        comment,
    )


async def _save_points(
    conn: asyncpg.Connection,
    evaluation_id: int,
    points: dict[int, int],
    comments: dict[int, str],
) -> None:
    await conn.execute(
        "DELETE FROM evaluation_scores WHERE evaluation_id = $1", evaluation_id
    )
    await conn.executemany(
        "INSERT INTO evaluation_scores (evaluation_id, criterion_id, points, comment)"
        " VALUES ($1, $2, $3, $4)",
        [(evaluation_id, cid, p, comments.get(cid)) for cid, p in points.items()],
    )


@dataclass(frozen=True)
class OperatorQuality:
    """An operator's quality figures over their evaluated calls."""

    operator: str
    team: str | None
    evaluations: int
    average_score: float
    passed: int

    @property
    def pass_rate(self) -> float:
        """Share of evaluations that passed."""
        return self.passed / self.evaluations if self.evaluations else 0.0


async def operator_quality(
    conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int | None, scope: Scope
) -> list[OperatorQuality]:
    """Per-operator quality of one campaign (None: all), within the scope."""
    rows = await conn.fetch(
        """
        SELECT oc.operator_id, o.team, count(*) AS n, avg(e.score)::float8 AS avg,
               count(*) FILTER (WHERE e.passed) AS passed
        FROM evaluations e
        JOIN evaluation_forms f ON f.id = e.form_id
        JOIN operator_calls oc ON oc.call_id = e.attempt_id
        JOIN operators o ON o.id = oc.operator_id
        WHERE ($1::bigint IS NULL OR f.campaign_id = $1)
          AND ($2::text[] IS NULL OR oc.operator_id = ANY($2))
          AND ($3::text[] IS NULL OR o.team = ANY($3))
        GROUP BY 1, 2 ORDER BY 1
        """,
        campaign_id,
        *scope.as_arrays(),
    )
    return [
        OperatorQuality(
            r["operator_id"], r["team"], r["n"], round(r["avg"], 2), r["passed"]
        )
        for r in rows
    ]


async def evaluations_of_call(
    conn: asyncpg.Connection | asyncpg.Pool, attempt_id: str
) -> list[dict[str, Any]]:
    """Every evaluation of one call with its points and comments."""
    rows = await conn.fetch(
        """
        SELECT e.id, e.reviewer, e.score::float8 AS score, e.passed, e.live,
               e.comment, e.created_at, f.name AS form,
               coalesce(json_agg(json_build_object(
                   'label', c.label, 'points', s.points, 'max', c.max_points,
                   'comment', s.comment) ORDER BY c.position)
                   FILTER (WHERE c.id IS NOT NULL), '[]') AS lines
        FROM evaluations e
        JOIN evaluation_forms f ON f.id = e.form_id
        LEFT JOIN evaluation_scores s ON s.evaluation_id = e.id
        LEFT JOIN evaluation_criteria c ON c.id = s.criterion_id
        WHERE e.attempt_id = $1
        GROUP BY e.id, f.name ORDER BY e.created_at
        """,
        attempt_id,
    )
    return [dict(r) for r in rows]
