"""
Why a campaign's contacts are waiting, counted, for the campaign status.
"""

from datetime import datetime

import asyncpg

_REASONS = """
SELECT CASE
    WHEN c.state <> 'pending' THEN c.state
    WHEN h.contact_id IS NOT NULL AND h.retry_at > $2 THEN h.reason
    WHEN c.next_attempt_at > $2 THEN 'scheduled'
    ELSE 'due' END AS reason,
    count(*) AS n
FROM contacts c LEFT JOIN compliance_holds h ON h.contact_id = c.id
WHERE c.campaign_id = $1
GROUP BY 1 ORDER BY 2 DESC, 1
"""


async def waiting_reasons(
    conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int, now: datetime
) -> dict[str, int]:
    """
    Contacts per reason: ``due``, ``scheduled`` (a retry delay or callback),
    a gate rule that holds them (``window``, ``daily``, ``gap``...), or their
    state once out of the queue (``suppressed``, ``done``, ``leased``...).
    """
    rows = await conn.fetch(_REASONS, campaign_id, now)

    return {r["reason"]: r["n"] for r in rows}


async def zone_fallbacks(
    conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int
) -> int:
    """How many of a campaign's contacts were called in the campaign's zone."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM contact_zone_fallbacks WHERE campaign_id = $1",
        campaign_id,
    )

    return count
