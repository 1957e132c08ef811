"""
Which operator takes an answered call: the longest-idle ready one, chosen in Postgres.

The choice and the claim are one transaction: the candidate row is locked
with ``FOR UPDATE SKIP LOCKED`` and moved to ``on_call`` before commit, so two
calls routed at the same instant take two different operators (or one finds
none) and never the same one twice, and a pause clicked in the web app at
that instant either wins or waits. An engine routes only to the operators
whose softphone legs it holds: it alone receives those legs' events and can
move them between bridges, and its progressive pacing counts the same
operators, so several engines sharing the database never dial for, or hand
calls to, each other's operators.

A customer who was promised a callback by a particular operator is put
through to that operator when they are free; otherwise to the longest-idle
one, because the customer is already on the line and must not wait.
"""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from engine.operators.sessions import SessionState, transition


@dataclass(frozen=True)
class Claim:
    """An operator claimed for one call, now in state on_call."""

    session_id: int
    operator_id: str
    channel_id: str
    holding_bridge_id: str | None
    idle_since: datetime | None


_PICK = """
WITH promised AS (
    SELECT cb.operator
    FROM call_attempts a
    JOIN callbacks cb ON cb.contact_id = a.contact_id
    WHERE a.id = $5 AND cb.operator IS NOT NULL AND cb.state <> 'cancelled'
    ORDER BY cb.created_at DESC
    LIMIT 1
)
SELECT id, operator_id, channel_id, holding_bridge_id, idle_since
FROM operator_sessions
WHERE (state = 'ready' OR (state = 'wrap_up' AND wrap_up_until <= $1))
  AND channel_id IS NOT NULL
  AND ($2::text IS NULL OR engine_id = $2)
  AND ($4::text IS NULL OR ari_url = $4)
  AND (campaign_id IS NULL OR campaign_id = $3)
ORDER BY operator_id IS NOT DISTINCT FROM (SELECT operator FROM promised) DESC,
    idle_since NULLS FIRST, id
LIMIT 1
FOR UPDATE OF operator_sessions SKIP LOCKED
"""


async def claim_operator(
    pool: asyncpg.Pool,
    *,
    campaign_id: int,
    call_id: str,
    now: datetime,
    engine_id: str | None = None,
    ari_url: str | None = None,
) -> Claim | None:
    """
    Claim a free operator for ``call_id``, or None: the one a callback promised
    the customer if free, else the longest-idle.

    Engines pass their ``engine_id``. ``ari_url`` alone (any engine's operator
    on that Asterisk) is kept for callers that predate engine-local routing.
    """
    if engine_id is None and ari_url is None:
        raise ValueError("claim_operator needs engine_id or ari_url")
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(_PICK, now, engine_id, campaign_id, ari_url, call_id)
        if row is None:
            return None
        await transition(conn, row["id"], SessionState.ON_CALL, now, call_id=call_id)

    return Claim(
        session_id=row["id"],
        operator_id=row["operator_id"],
        channel_id=row["channel_id"],
        holding_bridge_id=row["holding_bridge_id"],
        idle_since=row["idle_since"],
    )


async def count_free(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    campaign_id: int,
    now: datetime,
    engine_id: str | None = None,
) -> int:
    """How many operators (of one engine, if given) could take a call now."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM operator_sessions"
        " WHERE (state = 'ready' OR (state = 'wrap_up' AND wrap_up_until <= $1))"
        " AND channel_id IS NOT NULL"
        " AND (campaign_id IS NULL OR campaign_id = $2)"
        " AND ($3::text IS NULL OR engine_id = $3)",
        now,
        campaign_id,
        engine_id,
    )

    return count
