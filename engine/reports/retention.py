"""
Recording retention per kind of call: expired recordings are deleted, each
deletion audited.

A policy says how many days recordings of one kind (``campaigns.kind``) are
kept, counted from the call's start. A kind without a policy is kept. Each
expired recording is handled in its own transaction: the row is marked
``deleted`` and the audit row written, then the file is unlinked before the
commit, so a file that cannot be removed leaves the row ``archived`` (and the
next run tries again) rather than a row that lies about the disk.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
import structlog

from engine.campaigns.kinds import parse_kind
from engine.db.audit import audit
from engine.reports.verify import resolve

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Deletion:
    """A recording retention removed (or would remove, in a dry run)."""

    recording_id: int
    kind: str
    path: str | None
    started_at: datetime
    file_existed: bool


async def set_policy(
    conn: asyncpg.Connection | asyncpg.Pool, kind: str, days: int, actor: str
) -> None:
    """Keep recordings of this kind of call for this many days."""
    name = parse_kind(kind).value
    if days <= 0:
        raise ValueError("retention days must be positive")
    await conn.execute(
        "INSERT INTO retention_policies (kind, recording_days, updated_by)"
        " VALUES ($1, $2, $3) ON CONFLICT (kind) DO UPDATE"
        " SET recording_days = $2, updated_by = $3, updated_at = now()",
        name,
        days,
        actor,
    )
    await audit(conn, actor, "retention_set", "retention_policy", name, days=days)


async def policies(conn: asyncpg.Connection | asyncpg.Pool) -> list[asyncpg.Record]:
    """Every retention policy, by kind."""
    return await conn.fetch(
        "SELECT kind, recording_days, updated_by, updated_at"
        " FROM retention_policies ORDER BY kind"
    )


async def expired(
    conn: asyncpg.Connection, now: datetime, limit: int = 1000
) -> list[asyncpg.Record]:
    """Archived recordings older than their kind's retention."""
    return await conn.fetch(
        """
        SELECT r.id, r.archive_path, r.started_at, c.kind, p.recording_days
        FROM recordings r
        JOIN campaigns c ON c.id = r.campaign_id
        JOIN retention_policies p ON p.kind = c.kind
        WHERE r.state = 'archived'
          AND r.started_at < $1::timestamptz - make_interval(days => p.recording_days)
        ORDER BY r.id LIMIT $2
        """,
        now,
        limit,
    )


async def apply_retention(
    conn: asyncpg.Connection,
    now: datetime,
    base: Path,
    *,
    actor: str = "system:retention",
    dry_run: bool = False,
) -> list[Deletion]:
    """Delete every expired recording (file and row state), auditing each."""
    done: list[Deletion] = []
    while True:
        batch = await expired(conn, now)
        if dry_run:
            return [_deletion(row, base) for row in batch]
        for row in batch:
            done.append(await _delete_one(conn, row, base, actor))
        if len(batch) < 1000:
            return done


def _deletion(row: asyncpg.Record, base: Path) -> Deletion:
    path = resolve(row["archive_path"], base) if row["archive_path"] else None
    exists = path is not None and path.exists()
    return Deletion(
        row["id"], row["kind"], str(path) if path else None, row["started_at"], exists
    )


async def _delete_one(
    conn: asyncpg.Connection, row: asyncpg.Record, base: Path, actor: str
) -> Deletion:
    deletion = _deletion(row, base)
    async with conn.transaction():
        await conn.execute(
            "UPDATE recordings SET state = 'deleted' WHERE id = $1", row["id"]
        )
        await audit(
            conn,
            actor,
            "recording_deleted",
            "recording",
            row["id"],
            kind=row["kind"],
            retention_days=row["recording_days"],
            started_at=row["started_at"].isoformat(),
            path=deletion.path,
            file_existed=deletion.file_existed,
        )
        if deletion.path is not None:
            await asyncio.to_thread(Path(deletion.path).unlink, missing_ok=True)
    log.info(
        "recording_deleted",
        recording_id=row["id"],
        kind=row["kind"],
        retention_days=row["recording_days"],
        file_existed=deletion.file_existed,
    )

    return deletion
