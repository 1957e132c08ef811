"""
``outdial demo`` end to end: the real command as a user runs it, checked
against what it wrote to Postgres and to the recordings archive.
"""

import asyncio
import os
import re
from pathlib import Path

import asyncpg
from dialer_helpers import assert_archive_complete, outdial_command

CONTACTS = 30
# The summary's rows and the column of _COUNTS each one shows.
ROWS = {
    "dialled": "dialled",
    "in progress": "in_progress",
    "answered": "answered",
    "busy": "busy",
    "no answer": "no_answer",
    "failed (rejected, congestion, ...)": "failed",
    "not called: do-not-call list": "suppressed",
    "recordings archived": "archived",
}
_FIGURES = """
SELECT
  count(*) FILTER (WHERE originated_at IS NOT NULL) AS dialled,
  count(*) FILTER (WHERE state <> 'ended') AS in_progress,
  count(*) FILTER (WHERE outcome = 'answered') AS answered,
  count(*) FILTER (WHERE outcome = 'busy') AS busy,
  count(*) FILTER (WHERE outcome = 'no_answer') AS no_answer,
  count(*) FILTER (WHERE outcome IN ('rejected', 'congestion', 'failed',
                                     'unreachable')) AS failed,
  (SELECT count(*) FROM contacts WHERE state = 'suppressed'
     AND state_reason LIKE 'dnc%') AS suppressed,
  (SELECT count(*) FROM recordings WHERE state = 'archived') AS archived
FROM call_attempts
"""


def demo_env(db_dsn: str, tmp_path: Path) -> dict[str, str]:
    """A user's environment: only the database and the directories set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTDIAL_")}
    env |= {
        "OUTDIAL_DATABASE_URL": db_dsn,
        "OUTDIAL_RECORDINGS_DIR": str(tmp_path / "recordings"),
        "OUTDIAL_DATA_DIR": str(tmp_path / "data"),
        "OUTDIAL_IMPORT_ARCHIVE_DIR": str(tmp_path / "imports"),
        "OUTDIAL_ENV_FILE": "/nonexistent",
        "COLUMNS": "100",
        "PYTHONIOENCODING": "utf-8",
    }

    return env


async def run_demo(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run ``outdial demo`` to its end; its exit status, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        *outdial_command(),
        "demo",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 100)
    assert proc.returncode is not None

    return proc.returncode, out.decode(), err.decode()


def summary_figures(out: str) -> dict[str, int]:
    """The rows of the summary table printed last, as label -> count."""
    _, title, table = out.rpartition(": summary")
    assert title, out
    figures: dict[str, int] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in re.split(r"[│|┃]", line) if c.strip()]
        if len(cells) == 2 and cells[1].isdigit():
            figures[cells[0]] = int(cells[1])

    return figures


async def test_demo_command_fresh_database_summary_matches_postgres(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    code, out, err = await run_demo(
        demo_env(db_dsn, tmp_path),
        "--contacts",
        str(CONTACTS),
        "--time-scale",
        "0.01",
        "--seed",
        "11",
    )

    assert code == 0, err
    figures = summary_figures(out)
    assert set(figures) == set(ROWS), out
    stored = dict(await pool.fetchrow(_FIGURES))
    assert {label: stored[key] for label, key in ROWS.items()} == figures
    assert figures["in progress"] == 0
    assert figures["answered"] == figures["recordings archived"] > 0
    outcomes = ("answered", "busy", "no answer", "failed (rejected, congestion, ...)")
    assert sum(figures[o] for o in outcomes) == figures["dialled"]
    await check_compliance(pool)
    await check_archive(pool, tmp_path / "recordings")


async def check_compliance(pool: asyncpg.Pool) -> None:
    """A tenth of the contacts listed and never dialled; every originate gated."""
    states = dict(await pool.fetch("SELECT state, count(*) FROM contacts GROUP BY 1"))
    assert set(states) <= {"done", "exhausted", "suppressed"}
    assert states["suppressed"] == CONTACTS // 10
    listed = {r["phone"] for r in await pool.fetch("SELECT phone FROM dnc_entries")}
    dialled = {r["phone"] for r in await pool.fetch("SELECT phone FROM call_attempts")}
    assert len(listed) == CONTACTS // 10
    assert not listed & dialled
    # The compliance gate reserved every originate the engine made.
    gated = await pool.fetchval("SELECT count(*) FROM compliance_dials")
    originated = await pool.fetchval(
        "SELECT count(*) FROM call_attempts WHERE originated_at IS NOT NULL"
    )
    assert gated == originated > 0
    campaign = await pool.fetchrow("SELECT state, settings FROM campaigns")
    assert campaign["state"] == "finished"
    assert campaign["settings"]["call_on_holidays"] is True


async def check_archive(pool: asyncpg.Pool, recordings_dir: Path) -> None:
    """One intact archived file per answered call, under the configured dir."""
    await assert_archive_complete(pool)
    rows = await pool.fetch("SELECT archive_path FROM recordings")
    paths = [Path(r["archive_path"]) for r in rows]
    assert all(p.is_relative_to(recordings_dir) for p in paths)
    assert all(p.is_file() for p in paths)
