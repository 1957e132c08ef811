"""
Reading the audit log back: filters by actor, action, time and object.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class AuditQuery:
    """Filters of an audit query; None means any."""

    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    object_type: str | None = None
    object_id: str | None = None
    limit: int = 200


async def query_audit(
    conn: asyncpg.Connection | asyncpg.Pool, query: AuditQuery
) -> list[asyncpg.Record]:
    """Audit rows matching every given filter, newest first."""
    filters: list[str] = []
    args: list[Any] = []
    for column, value in (
        ("actor", query.actor),
        ("action", query.action),
        ("object_type", query.object_type),
        ("object_id", query.object_id),
    ):
        if value is not None:
            args.append(value)
            filters.append(f"{column} = ${len(args)}")
    if query.since is not None:
        args.append(query.since)
        filters.append(f"at >= ${len(args)}")
    where = " WHERE " + " AND ".join(filters) if filters else ""
    args.append(query.limit)

    return await conn.fetch(
        "SELECT id, at, actor, action, object_type, object_id, details"
        f" FROM audit_log{where} ORDER BY at DESC, id DESC LIMIT ${len(args)}",
        *args,
    )
