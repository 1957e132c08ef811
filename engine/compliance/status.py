"""
Why a campaign's contacts are waiting, counted, for the campaign status.
"""

from datetime import datetime

import asyncpg

_REASONS = """
SELECT CASE
    WHEN c.state = 'suppressed' THEN 'dnc'
    WHEN c.state = 'cancelled' AND c.state_reason LIKE 'dnc:%' THEN 'dnc'
    WHEN c.state = 'exhausted' THEN 'attempts'
    WHEN c.state = 'cancelled' AND c.state_reason LIKE 'attempts:%' THEN 'attempts'
    WHEN c.state <> 'pending' THEN c.state
    WHEN h.contact_id IS NOT NULL AND h.retry_at > $2 THEN h.reason
    WHEN cb.due_at > $2 THEN 'callback'
    WHEN c.next_attempt_at > $2 AND c.attempts > 0 THEN 'retry'
    WHEN c.next_attempt_at > $2 THEN 'scheduled'
    ELSE 'due' END AS reason,
    count(*) AS n
FROM contacts c
LEFT JOIN compliance_holds h ON h.contact_id = c.id
LEFT JOIN callbacks cb ON cb.contact_id = c.id AND cb.state = 'pending'
WHERE c.campaign_id = $1
GROUP BY 1 ORDER BY 2 DESC, 1
"""


async def waiting_reasons(
    conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int, now: datetime
) -> dict[str, int]:
    """
    Contacts per reason they wait, or why they left the queue.

    Pending ones: a gate rule that holds them (``window``, ``daily``, ``gap``,
    ``caller_id``...), ``callback`` (a promised callback not yet due),
    ``retry`` (a retry delay after an attempt), ``scheduled`` (a later start),
    or ``due``. Out of the queue: ``dnc`` (suppressed, or refused at dial time
    for the list), ``attempts`` (exhausted), else their state (``done``,
    ``leased``, ``cancelled``).
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
