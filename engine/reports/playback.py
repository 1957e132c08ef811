"""
Opening a recording for playback: who may, and an audit row for each time.

Operators may play only recordings of calls they took, directors those of
their team, admins any. Every granted playback is audited; a refused one is
audited too (``recording_refused``), since an attempt to reach another
person's calls is what an auditor wants to see.
"""

import asyncio
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from engine.reports.access import Viewer, audit_read
from engine.reports.exceptions import AccessDeniedError, RecordingNotFoundError
from engine.reports.verify import resolve


@dataclass(frozen=True)
class RecordingFile:
    """A recording a viewer may play, and where its file is."""

    recording_id: int
    attempt_id: str
    campaign_id: int
    operator_id: str | None
    path: Path
    size_bytes: int | None


async def recording_row(
    conn: asyncpg.Connection | asyncpg.Pool, recording_id: int
) -> asyncpg.Record | None:
    """A recording with the operator (and team) of its call."""
    return await conn.fetchrow(
        "SELECT r.id, r.attempt_id, r.campaign_id, r.state, r.archive_path,"
        " r.size_bytes, oc.operator_id, o.team"
        " FROM recordings r"
        " LEFT JOIN operator_calls oc ON oc.call_id = r.attempt_id"
        " LEFT JOIN operators o ON o.id = oc.operator_id WHERE r.id = $1",
        recording_id,
    )


async def check_recording_access(
    conn: asyncpg.Connection | asyncpg.Pool, who: Viewer, recording_id: int
) -> asyncpg.Record:
    """The recording's row if the viewer may open it; refusals are audited."""
    row = await recording_row(conn, recording_id)
    if row is None:
        raise RecordingNotFoundError(str(recording_id))
    if not who.may_see_operator(row["operator_id"], row["team"]):
        await audit_read(conn, who, "recording_refused", "recording", recording_id)
        raise AccessDeniedError(who.actor, f"play recording {recording_id}")
    return row


async def open_for_playback(
    conn: asyncpg.Connection | asyncpg.Pool,
    who: Viewer,
    recording_id: int,
    base: Path,
    *,
    audited: bool = True,
) -> RecordingFile:
    """Check access and the file; audit the playback unless told not to."""
    row = await check_recording_access(conn, who, recording_id)
    if row["state"] != "archived" or not row["archive_path"]:
        raise RecordingNotFoundError(str(recording_id))
    path = resolve(row["archive_path"], base)
    if not await asyncio.to_thread(path.is_file):
        raise RecordingNotFoundError(str(recording_id))
    if audited:
        await audit_read(
            conn,
            who,
            "recording_played",
            "recording",
            recording_id,
            call=row["attempt_id"],
        )

    return RecordingFile(
        row["id"],
        row["attempt_id"],
        row["campaign_id"],
        row["operator_id"],
        path,
        row["size_bytes"],
    )
