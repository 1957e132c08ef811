"""
Recording archive checks, retention per kind of call, and the audit query.
"""

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from engine.campaigns.exceptions import UnknownKindError
from engine.reports import retention
from engine.reports.auditlog import AuditQuery, query_audit
from engine.reports.verify import verify_archive

SEED = Path(__file__).with_name("report_seed.sql")


@pytest.fixture
async def archive(pool: asyncpg.Pool, tmp_path: Path) -> Path:
    """The seeded database with its three recordings archived under tmp_path."""
    await pool.execute(SEED.read_text())
    root = tmp_path / "recordings"
    for rec_id, name in ((1, "a1"), (2, "a5"), (3, "a6")):
        path = root / "2026" / "03" / "01" / f"{rec_id:06d}-{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = f"RIFF fake audio {name}".encode() * 100
        path.write_bytes(data)
        await pool.execute(
            "UPDATE recordings SET state = 'archived', archive_path = $2, sha256 = $3,"
            " size_bytes = $4, archived_at = started_at WHERE id = $1",
            rec_id,
            str(path.relative_to(tmp_path)),
            hashlib.sha256(data).hexdigest(),
            len(data),
        )
    return tmp_path


async def test_verify_intact_archive_reports_no_problem(
    pool: asyncpg.Pool, archive: Path
) -> None:
    async with pool.acquire() as conn:
        result = await verify_archive(conn, archive, root=archive / "recordings")

    assert (result.checked, result.problems, result.unexpected) == (3, [], [])
    assert result.ok


async def test_verify_altered_missing_and_stray_files_reported(
    pool: asyncpg.Pool, archive: Path
) -> None:
    day = archive / "recordings" / "2026" / "03" / "01"
    (day / "000002-a5.wav").write_bytes(b"RIFF tampered")
    (day / "000003-a6.wav").unlink()
    (day / "000099-stray.wav").write_bytes(b"RIFF")
    async with pool.acquire() as conn:
        result = await verify_archive(
            conn, archive, root=archive / "recordings", actor="root"
        )
        row = await conn.fetchrow(
            "SELECT actor, details FROM audit_log WHERE action = 'recordings_verified'"
        )

    assert [(p.recording_id, p.kind) for p in result.problems] == [
        (2, "altered"),
        (3, "missing"),
    ]
    assert result.unexpected == [str(day / "000099-stray.wav")]
    assert not result.ok
    assert row["actor"] == "root"
    assert row["details"] == {"checked": 3, "missing": 1, "altered": 1, "unexpected": 1}


async def test_retention_deletes_expired_kind_and_audits_each(
    pool: asyncpg.Pool, archive: Path
) -> None:
    await pool.execute(
        "INSERT INTO campaigns (id, name, kind, caller_id) VALUES (2, 'Poll', 'survey', '+1')"
    )
    await retention.set_policy(pool, "collections", 30, "root")
    await retention.set_policy(pool, "survey", 1, "root")
    async with pool.acquire() as conn:
        # 31 March: a1 and a5 (1 March 02:00 and 04:00) are 30+ days old, a6
        # (17:30) is not.
        now = datetime(2026, 3, 31, 3, 0, tzinfo=UTC)
        preview = await retention.apply_retention(conn, now, archive, dry_run=True)
        done = await retention.apply_retention(conn, now, archive, actor="root")
        again = await retention.apply_retention(conn, now, archive)
        states = await conn.fetch("SELECT id, state FROM recordings ORDER BY id")
        audits = await conn.fetch(
            "SELECT object_id, details FROM audit_log"
            " WHERE action = 'recording_deleted' ORDER BY object_id"
        )

    assert [d.recording_id for d in preview] == [1]
    assert [(d.recording_id, d.file_existed) for d in done] == [(1, True)]
    assert again == []
    assert [tuple(r) for r in states] == [
        (1, "deleted"),
        (2, "archived"),
        (3, "archived"),
    ]
    assert not (archive / done[0].path).exists()
    assert [a["object_id"] for a in audits] == ["1"]
    assert audits[0]["details"]["retention_days"] == 30


async def test_retention_unknown_kind_refused(pool: asyncpg.Pool) -> None:
    with pytest.raises(UnknownKindError, match="nonsense"):
        await retention.set_policy(pool, "nonsense", 10, "root")


async def test_audit_query_filters_combine(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO audit_log (at, actor, action, object_type, object_id) VALUES"
        " ('2026-03-01Z', 'dora', 'report_exported', 'campaign', '1'),"
        " ('2026-03-02Z', 'dora', 'recording_played', 'recording', '7'),"
        " ('2026-03-03Z', 'alice', 'recording_played', 'recording', '7'),"
        " ('2026-03-04Z', 'dora', 'recording_played', 'recording', '8')"
    )
    since = datetime(2026, 3, 2, tzinfo=UTC)
    by_actor = await query_audit(pool, AuditQuery(actor="dora", since=since))
    by_object = await query_audit(
        pool,
        AuditQuery(action="recording_played", object_type="recording", object_id="7"),
    )

    assert [(r["action"], r["object_id"]) for r in by_actor] == [
        ("recording_played", "8"),
        ("recording_played", "7"),
    ]
    assert [r["actor"] for r in by_object] == ["alice", "dora"]
