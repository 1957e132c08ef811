"""
The live board: operators, calls in progress and campaigns, in one snapshot.

``campaign status --watch`` and the web app's supervisor page both draw it.
Phone numbers on the board are masked; the operator desktop unmasks a
customer only for the operator on the call, once identity is verified.
"""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from engine.logging import mask_phone


@dataclass(frozen=True)
class OperatorLine:
    """One logged-in operator."""

    operator_id: str
    name: str
    team: str | None
    state: str
    state_since: datetime
    campaign_id: int | None
    call_id: str | None
    calls_taken: int
    pause_reason: str | None


@dataclass(frozen=True)
class CallLine:
    """One call not yet ended."""

    call_id: str
    campaign_id: int
    campaign: str
    phone: str
    state: str
    operator_id: str | None
    answered_at: datetime | None
    bridged_at: datetime | None


@dataclass(frozen=True)
class CampaignLine:
    """One running or paused campaign's counts."""

    campaign_id: int
    name: str
    state: str
    state_reason: str | None
    in_progress: int
    connected: int
    abandoned: int
    complaints: int
    free_operators: int


@dataclass(frozen=True)
class Board:
    """The whole board at one moment."""

    at: datetime
    operators: list[OperatorLine]
    calls: list[CallLine]
    campaigns: list[CampaignLine]
    open_escalations: int


_OPERATORS = """
SELECT s.operator_id, o.name, o.team,
       CASE WHEN s.state = 'wrap_up' AND s.wrap_up_until <= $1 THEN 'ready'
            ELSE s.state END AS state,
       s.state_since, s.campaign_id, s.call_id, s.calls_taken, s.pause_reason
FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
WHERE s.state <> 'logged_out'
ORDER BY o.team NULLS LAST, s.operator_id
"""

_CALLS = """
SELECT a.id AS call_id, a.campaign_id, c.name AS campaign, a.phone, a.state,
       oc.operator_id, a.answered_at, oc.bridged_at
FROM call_attempts a
JOIN campaigns c ON c.id = a.campaign_id
LEFT JOIN operator_calls oc ON oc.call_id = a.id
WHERE a.state <> 'ended'
ORDER BY a.created_at
"""

_CAMPAIGNS = """
SELECT c.id AS campaign_id, c.name, c.state, c.state_reason,
  (SELECT count(*) FROM call_attempts a
    WHERE a.campaign_id = c.id AND a.state <> 'ended') AS in_progress,
  (SELECT count(*) FROM call_attempts a
    WHERE a.campaign_id = c.id AND a.outcome IN ('answered', 'abandoned'))
    AS connected,
  (SELECT count(*) FROM call_attempts a
    WHERE a.campaign_id = c.id AND a.outcome = 'abandoned') AS abandoned,
  (SELECT count(*) FROM dispositions d
    WHERE d.campaign_id = c.id AND d.complaint) AS complaints,
  (SELECT count(*) FROM operator_sessions s
    WHERE (s.state = 'ready' OR (s.state = 'wrap_up' AND s.wrap_up_until <= $1))
      AND s.channel_id IS NOT NULL
      AND (s.campaign_id IS NULL OR s.campaign_id = c.id)) AS free_operators
FROM campaigns c
WHERE c.state IN ('running', 'paused')
ORDER BY c.id
"""


async def read_board(conn: asyncpg.Connection | asyncpg.Pool, now: datetime) -> Board:
    """The board as of ``now``."""
    operators = [OperatorLine(**dict(r)) for r in await conn.fetch(_OPERATORS, now)]
    calls = []
    for r in await conn.fetch(_CALLS):
        values = dict(r)
        values["phone"] = mask_phone(values["phone"])
        calls.append(CallLine(**values))
    campaigns = [CampaignLine(**dict(r)) for r in await conn.fetch(_CAMPAIGNS, now)]
    escalations = await conn.fetchval(
        "SELECT count(*) FROM escalations WHERE state = 'open'"
    )

    return Board(now, operators, calls, campaigns, escalations)


async def abandoned_count(
    conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int
) -> int:
    """How many of a campaign's answered calls ended abandoned."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM call_attempts WHERE campaign_id = $1"
        " AND outcome = 'abandoned'",
        campaign_id,
    )

    return count
