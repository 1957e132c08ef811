"""
How fast campaign reports are on 10 million call attempts.

    .venv/bin/python bench/report_bench.py [--attempts 10000000] [--keep]

Creates its own database (``outdial_report_bench``, or $OUTDIAL_BENCH_DATABASE)
on the server of OUTDIAL_BENCH_DATABASE_URL (default the local one), migrates
it, and fills one campaign with generate_series: contacts (one per 5 attempts),
attempts over 30 days with a realistic outcome mix, 200 operators in 20 teams,
an operator call and a disposition for every answered attempt. The counter
triggers are off during the bulk load; the rebuild functions then fill the
counters in one pass each (times printed). Then it times each report (best of
3) from the counters and, for comparison, from the source rows (one run), and
the counter trigger's cost per attempt ended in its own transaction.
``--keep`` keeps the database and ``--reuse`` runs the queries on it again.
Prints figures; asserts nothing about time.
"""

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg

from engine.db import migrations
from engine.db.pool import connect
from engine.reports.stats import Grouping, campaign_report

DB = os.environ.get("OUTDIAL_BENCH_DATABASE", "outdial_report_bench")
SERVER = os.environ.get(
    "OUTDIAL_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

FILL_SQL = """
INSERT INTO campaigns (id, name, kind, caller_id, timezone)
VALUES (1, 'Bench', 'collections', '+8610950000', 'Asia/Shanghai');

INSERT INTO operators (id, name, role, team, password_hash, password_changed_at,
                       password_expires_at)
SELECT 'op' || g, 'Operator ' || g, 'operator', 'team' || (g % 20), 'x', now(),
       now() + interval '90 days'
FROM generate_series(1, 200) g;

INSERT INTO operator_sessions (id, operator_id, state, state_since)
SELECT g, 'op' || g, 'logged_out', now() FROM generate_series(1, 200) g;

INSERT INTO contacts (id, campaign_id, phone, state, created_at)
SELECT g, 1, '+86138' || lpad(g::text, 8, '0'),
       (ARRAY['done','exhausted','suppressed','pending','cancelled'])[1 + g % 5],
       timestamptz '2026-03-01 00:00Z' + (g % 30) * interval '1 day'
FROM generate_series(1, {contacts}) g;

INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone, caller_id,
    dial_string, engine_id, lease_expires_at, state, outcome, created_at,
    originated_at, answered_at, ended_at)
SELECT 'c' || g, 1, 1 + g % {contacts}, 1 + g / {contacts},
       '+86138' || lpad((1 + g % {contacts})::text, 8, '0'), '+8610950000',
       'PJSIP/x', 'bench', now(), 'ended', o.outcome, t.at, t.at,
       CASE WHEN o.outcome IN ('answered', 'abandoned')
            THEN t.at + interval '8 seconds' END,
       t.at + interval '8 seconds' + (g % 300) * interval '1 second'
FROM generate_series(0, {attempts} - 1) g
CROSS JOIN LATERAL (SELECT timestamptz '2026-03-01 00:00Z'
    + (g % 30) * interval '1 day' + (g % 43200) * interval '1 second' AS at) t
CROSS JOIN LATERAL (SELECT (ARRAY['answered','answered','answered','busy',
    'no_answer','no_answer','abandoned','congestion','failed','cancelled'])
    [1 + (g / 7) % 10] AS outcome) o;

INSERT INTO operator_calls (call_id, campaign_id, contact_id, operator_id,
    session_id, bridge_id, wait_ms, bridged_at, ended_at)
SELECT id, 1, contact_id, 'op' || n, n, 'b', 500, answered_at, ended_at
FROM (SELECT id, contact_id, answered_at, ended_at, 1 + abs(hashtext(id)) % 200 AS n
      FROM call_attempts WHERE outcome = 'answered') s;

INSERT INTO dispositions (call_id, campaign_id, contact_id, operator_id, outcome,
    callback_at, complaint, created_at)
SELECT call_id, 1, contact_id, operator_id,
       (ARRAY['paid','promise_to_pay','callback','refused'])[1 + length(call_id) % 4],
       CASE WHEN length(call_id) % 4 = 2 THEN ended_at + interval '2 days' END,
       length(call_id) % 97 = 0, ended_at + interval '25 seconds'
FROM operator_calls;
"""


def _dsn(database: str) -> str:
    return SERVER.rsplit("/", 1)[0] + "/" + database


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(SERVER)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _timed(label: str, step: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await step()
    took = time.perf_counter() - start
    print(f"  {label:<44} {took:8.2f} s", flush=True)
    return took


async def _best_of(
    label: str, step: Callable[[], Awaitable[object]], runs: int = 3
) -> None:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await step()
        times.append(time.perf_counter() - start)
    print(
        f"  {label:<44} best {min(times) * 1000:8.1f} ms"
        f"   median {statistics.median(times) * 1000:8.1f} ms",
        flush=True,
    )


TRIGGERS = (
    ("call_attempts", "call_attempts_report_hourly"),
    ("operator_calls", "operator_calls_report_count"),
    ("dispositions", "dispositions_report_count"),
)


async def _triggers(conn: asyncpg.Connection, verb: str) -> None:
    for table, trigger in TRIGGERS:
        await conn.execute(f"ALTER TABLE {table} {verb} TRIGGER {trigger}")


async def fill(conn: asyncpg.Connection, attempts: int) -> None:
    """Generate the campaign's rows with the counter trigger off."""
    contacts = max(attempts // 5, 1)
    print(f"filling {attempts:,} attempts, {contacts:,} contacts", flush=True)
    await _triggers(conn, "DISABLE")
    for statement in FILL_SQL.format(contacts=contacts, attempts=attempts).split(";\n"):
        if statement.strip():
            first = statement.strip().splitlines()[0][:44]
            await _timed(first, lambda s=statement: conn.execute(s))
    await _triggers(conn, "ENABLE")
    await _rebuild(conn)
    await _timed("VACUUM ANALYZE", lambda: conn.execute("VACUUM ANALYZE"))


async def _rebuild(conn: asyncpg.Connection) -> None:
    """Refill every counter table from the source rows, timed."""
    await _timed(
        "report_hourly_rebuild(1)",
        lambda: conn.fetchval("SELECT report_hourly_rebuild(1)"),
    )
    await _timed(
        "report_operator_rebuild(1)",
        lambda: conn.execute("SELECT report_operator_rebuild(1)"),
    )


async def queries(conn: asyncpg.Connection) -> None:
    """Time every report grouping from the counters and from the attempts."""
    as_of = datetime(2026, 4, 1, tzinfo=UTC)
    for grouping in Grouping:
        await _best_of(
            f"report by {grouping.value}",
            lambda g=grouping: campaign_report(conn, 1, g, as_of=as_of),
        )
    for grouping in (Grouping.CAMPAIGN, Grouping.DAY, Grouping.OPERATOR):
        await _best_of(
            f"report by {grouping.value}, raw scan",
            lambda g=grouping: campaign_report(conn, 1, g, as_of=as_of, source="raw"),
            runs=1,
        )


async def trigger_cost(conn: asyncpg.Connection, n: int = 2_000) -> None:
    """Per-attempt cost of the counter trigger, one transaction per attempt."""
    await conn.execute(
        "INSERT INTO campaigns (id, name, kind, caller_id)"
        " VALUES (2, 'Scratch', 'survey', '+1') ON CONFLICT DO NOTHING;"
        "INSERT INTO contacts (id, campaign_id, phone) VALUES (0, 2, '+8613900000000')"
        " ON CONFLICT DO NOTHING"
    )
    sql = """
        INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,
            caller_id, dial_string, engine_id, lease_expires_at, state, outcome,
            created_at, answered_at, ended_at)
        VALUES ($1, 2, 0, $2, '+8613900000000', '+1', 'x', 'bench', now(), 'ended',
                'answered', now(), now(), now())
    """
    timings = {}
    for tag, verb, base in (("t_off", "DISABLE", 10**8), ("t_on", "ENABLE", 2 * 10**8)):
        await conn.execute(
            f"ALTER TABLE call_attempts {verb} TRIGGER call_attempts_report_hourly"
        )
        start = time.perf_counter()
        for i in range(n):
            await conn.execute(sql, f"{tag}{i}", base + i)
        timings[tag] = time.perf_counter() - start
    await conn.execute(
        "ALTER TABLE call_attempts ENABLE TRIGGER call_attempts_report_hourly;"
        "DELETE FROM report_hourly WHERE campaign_id = 2;"
        "DELETE FROM call_attempts WHERE campaign_id = 2"
    )
    per_off = timings["t_off"] / n * 1e6
    per_on = timings["t_on"] / n * 1e6
    print(
        f"  ended-attempt insert, own transaction: {per_off:7.1f} µs without the"
        f" counter trigger, {per_on:7.1f} µs with it"
    )


async def main(attempts: int, keep: bool, reuse: bool) -> None:
    """Build (or reuse) the database, fill it, time the reports."""
    if not reuse:
        await _admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        await _admin(f'CREATE DATABASE "{DB}"')
    conn = await connect(_dsn(DB))
    try:
        await migrations.upgrade(conn)
        await conn.execute("SET max_parallel_workers_per_gather = 2")
        if await conn.fetchval("SELECT count(*) FROM campaigns WHERE id = 1"):
            print("reusing the filled database; rebuilding counters")
            await _rebuild(conn)
        else:
            await fill(conn, attempts)
        total = await conn.fetchval("SELECT count(*) FROM call_attempts")
        counters = await conn.fetchval("SELECT count(*) FROM report_hourly")
        print(f"call_attempts: {total:,}; report_hourly rows: {counters:,}")
        print("queries:")
        await queries(conn)
        await trigger_cost(conn)
    finally:
        await conn.close()
        if not keep:
            await _admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--reuse", action="store_true", help="use a database kept by --keep"
    )
    args = parser.parse_args()
    asyncio.run(main(args.attempts, args.keep, args.reuse))
