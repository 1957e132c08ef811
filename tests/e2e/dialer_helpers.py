"""
Helpers of the dialer end-to-end tests: subprocess environment, campaigns, checks.
"""

import asyncio
import hashlib
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from engine.settings import Settings


def engine_env(settings: Settings) -> dict[str, str]:
    """The environment for an ``outdial run`` subprocess with these settings."""
    assert settings.database_url is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTDIAL_")}
    env |= {
        "OUTDIAL_DATABASE_URL": settings.database_url.get_secret_value(),
        "OUTDIAL_ARI_URL": settings.ari_url,
        "OUTDIAL_ARI_APP": settings.ari_app,
        "OUTDIAL_ENGINE_ID": settings.engine_id,
        "OUTDIAL_LEASE_SECONDS": str(settings.lease_seconds),
        "OUTDIAL_RECORDINGS_DIR": str(settings.recordings_dir),
        "OUTDIAL_DRAIN_SECONDS": str(settings.drain_seconds),
        "OUTDIAL_LOG_FORMAT": "json",
        "OUTDIAL_ENV_FILE": "/nonexistent",
        # outdial run enforces compliance; these tests run at any hour of any
        # day and retry quickly, so the institution allows survey calls all day.
        "OUTDIAL_CALLING_WINDOWS": '{"survey": "daily 00:00-24:00"}',
        "OUTDIAL_MIN_CALL_GAP_S": "0",
        "OUTDIAL_MAX_ATTEMPTS_PER_DAY": "50",
    }

    return env


def outdial_command() -> list[str]:
    """The installed ``outdial`` console script next to this interpreter."""
    return [str(Path(sys.executable).with_name("outdial"))]


async def make_campaign(pool: asyncpg.Pool, phones: list[str], **fields: Any) -> int:
    """Insert a running campaign with these contacts; return its id."""
    columns: dict[str, Any] = {
        "name": f"e2e-{uuid.uuid4().hex[:8]}",
        "kind": "survey",
        "caller_id": "95555",
        "state": "running",
        "ring_timeout_s": 20,
        "max_concurrent": 20,
        "calls_per_second": 50,
    }
    columns |= fields
    columns.setdefault("settings", {"call_on_holidays": True})
    await pool.execute(
        "INSERT INTO approved_caller_ids (caller_id, added_by) VALUES ($1, 'e2e')"
        " ON CONFLICT DO NOTHING",
        columns["caller_id"],
    )
    names = ", ".join(columns)
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    campaign_id: int = await pool.fetchval(
        f"INSERT INTO campaigns ({names}) VALUES ({marks}) RETURNING id",
        *columns.values(),
    )
    await pool.executemany(
        "INSERT INTO contacts (campaign_id, phone) VALUES ($1, $2)",
        [(campaign_id, p) for p in phones],
    )

    return campaign_id


async def assert_archive_complete(pool: asyncpg.Pool, *, crashed: bool = False) -> None:
    """
    Every answered attempt has exactly one archived recording, intact.

    With ``crashed``, a recording may instead be marked as never started: the
    engine was killed between writing its row and starting it.
    """
    answered = await pool.fetch(
        "SELECT a.id, count(r.id) AS n, min(r.state) AS state,"
        " min(r.archive_path) AS path, min(r.sha256) AS sha,"
        " min(r.size_bytes) AS size, min(r.last_error) AS error"
        " FROM call_attempts a LEFT JOIN recordings r ON r.attempt_id = a.id"
        " WHERE a.outcome = 'answered' GROUP BY a.id"
    )
    assert answered
    for row in answered:
        if crashed and row["state"] == "failed":
            assert row["error"] == "recording never started: engine stopped"
            continue
        assert (row["n"], row["state"]) == (1, "archived"), dict(row)
        data = await asyncio.to_thread(Path(row["path"]).read_bytes)
        assert hashlib.sha256(data).hexdigest() == row["sha"]
        assert len(data) == row["size"]
        assert f"-{row['id']}." in Path(row["path"]).name
