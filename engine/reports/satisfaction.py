"""
Customer satisfaction per operator, from the post-call survey.

The survey (``engine.operators.survey``) stores one key per answered call in
``survey_responses``: ``score`` from 1 to the campaign's ``max_score``. Per
operator this gives the number of answers, the mean score and the mean of
score / max_score in percent (comparable across campaigns whose scales
differ). Calls whose customer did not answer are not counted.
"""

from dataclasses import dataclass

import asyncpg

from engine.reports.stats import Scope


@dataclass(frozen=True)
class OperatorSatisfaction:
    """An operator's survey answers: how many and how good."""

    operator: str
    team: str | None
    answers: int
    average_score: float
    average_pct: float


async def operator_satisfaction(
    conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int | None, scope: Scope
) -> list[OperatorSatisfaction]:
    """Per-operator survey results of one campaign (None: all), within the scope."""
    rows = await conn.fetch(
        """
        SELECT s.operator_id, o.team, count(*) AS n,
               avg(s.score)::float8 AS avg,
               avg(100.0 * s.score / s.max_score)::float8 AS pct
        FROM survey_responses s
        JOIN operators o ON o.id = s.operator_id
        WHERE ($1::bigint IS NULL OR s.campaign_id = $1)
          AND ($2::text[] IS NULL OR s.operator_id = ANY($2))
          AND ($3::text[] IS NULL OR o.team = ANY($3))
        GROUP BY 1, 2 ORDER BY 1
        """,
        campaign_id,
        *scope.as_arrays(),
    )

    return [
        OperatorSatisfaction(
            r["operator_id"], r["team"], r["n"], round(r["avg"], 2), round(r["pct"], 1)
        )
        for r in rows
    ]
