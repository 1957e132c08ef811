"""
The audit log: who did what to which object, written in the caller's transaction.
"""

from typing import Any

import asyncpg


async def audit(
    conn: asyncpg.Connection | asyncpg.Pool,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    **details: Any,
) -> None:
    """Append one audit row; pass a connection inside a transaction to tie it."""
    await conn.execute(
        "INSERT INTO audit_log (actor, action, object_type, object_id, details)"
        " VALUES ($1, $2, $3, $4, $5)",
        actor,
        action,
        object_type,
        None if object_id is None else str(object_id),
        details,
    )
