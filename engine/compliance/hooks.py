"""
What compliance does when contacts are imported: mark the suppressed ones.

Registered with the campaigns importer when ``engine.compliance`` is imported,
so every ``outdial contacts import`` keeps numbers on the do-not-call list in
the campaign, marked ``suppressed`` with the entry's source as the reason
(each audited), in the import's own transaction.
"""

from collections.abc import Mapping

import asyncpg

from engine.campaigns.importer import ImportContext
from engine.compliance.dnc import suppress_contacts


async def mark_suppressed(
    conn: asyncpg.Connection, context: ImportContext
) -> Mapping[str, int]:
    """Suppress the campaign's pending contacts that are on the list."""
    now = await conn.fetchval("SELECT now()")
    count = await suppress_contacts(conn, context.campaign.id, now, context.actor)

    return {"suppressed (do-not-call)": count}
