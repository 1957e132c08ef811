"""
How many operator desktops one ``outdial web`` process serves.

    .venv/bin/python bench/web_bench.py [--operators 200] [--seconds 10] [--keep]

Creates its own database (``outdial_web_bench``, or $OUTDIAL_BENCH_DATABASE) on
the server of OUTDIAL_BENCH_DATABASE_URL (default the local one), migrates it,
and seeds N operators: half on a bridged call (with the campaign's script),
half ready, each with a logged-in web session (rows written directly, so no
argon2 time is spent). Then it starts ``outdial web`` as a subprocess on a
free loopback port and runs two phases against it from this process:

1. paced: every operator's page polls ``GET /api/desktop`` once a second, as
   the real page does; prints the latency distribution at that load;
2. flat out: the same clients poll back to back; prints the ceiling in
   requests per second.

Only 127.0.0.1 is contacted; both phases stop after ``--seconds``. Prints
figures; asserts nothing about time.
"""

import argparse
import asyncio
import hashlib
import os
import random
import socket
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import asyncpg

from engine.db import migrations
from engine.db.pool import connect

DB = os.environ.get("OUTDIAL_BENCH_DATABASE", "outdial_web_bench")
SERVER = os.environ.get(
    "OUTDIAL_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ROOT = Path(__file__).resolve().parents[1]

SEED_SQL = """
INSERT INTO campaigns (id, name, kind, caller_id, state, settings)
VALUES (1, 'Bench', 'collections', '+8610950000', 'running',
        '{"script": {"opening": "Hello from {institution}",
                     "questions": [{"q": "Why?", "a": "Arrears."}]}}');

INSERT INTO operators (id, name, role, endpoint, password_hash,
                       password_changed_at, password_expires_at,
                       must_change_password)
SELECT 'op' || g, 'Operator ' || g, 'operator', 'PJSIP/' || (6000 + g), 'x',
       now(), now() + interval '90 days', false
FROM generate_series(1, __N__) g;

INSERT INTO contacts (id, campaign_id, phone, name, state)
SELECT g, 1, '+86138' || lpad(g::text, 8, '0'), 'Customer ' || g, 'leased'
FROM generate_series(1, __N__) g;

INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,
    caller_id, dial_string, engine_id, lease_expires_at, state, answered_at)
SELECT 'c' || g, 1, g, 1, '+86138' || lpad(g::text, 8, '0'), '+8610950000',
       'PJSIP/x@trunk', 'bench', now() + interval '1 hour', 'answered', now()
FROM generate_series(1, __N__) g WHERE g % 2 = 0;

INSERT INTO operator_sessions (id, operator_id, state, state_since, idle_since,
    channel_id, call_id, calls_taken, engine_id, ari_url)
SELECT g, 'op' || g, CASE WHEN g % 2 = 0 THEN 'on_call' ELSE 'ready' END, now(),
       now(), 'leg-' || g, CASE WHEN g % 2 = 0 THEN 'c' || g END, g % 2, 'bench',
       'http://127.0.0.1:1'
FROM generate_series(1, __N__) g;

INSERT INTO operator_calls (call_id, campaign_id, contact_id, operator_id,
    session_id, bridge_id, wait_ms, bridged_at)
SELECT 'c' || g, 1, g, 'op' || g, g, 'b' || g, 100, now()
FROM generate_series(1, __N__) g WHERE g % 2 = 0;
"""


def _dsn(database: str) -> str:
    base, _, _ = SERVER.rpartition("/")
    return f"{base}/{database}"


async def _create(n: int) -> list[str]:
    admin = await asyncpg.connect(SERVER)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DB}"')
    finally:
        await admin.close()
    conn = await connect(_dsn(DB))
    try:
        await migrations.upgrade(conn)
        await conn.execute(SEED_SQL.replace("__N__", str(n)))
        tokens = [f"bench-token-{g:06d}-{os.urandom(8).hex()}" for g in range(1, n + 1)]
        await conn.executemany(
            "INSERT INTO web_sessions (id, operator_id, role, csrf_token, expires_at)"
            " VALUES ($1, $2, 'operator', 'x', now() + interval '1 hour')",
            [
                (hashlib.sha256(t.encode()).hexdigest(), f"op{g}")
                for g, t in enumerate(tokens, 1)
            ],
        )
    finally:
        await conn.close()

    return tokens


async def _drop() -> None:
    admin = await asyncpg.connect(SERVER)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    finally:
        await admin.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _start_server(port: int) -> asyncio.subprocess.Process:
    env = os.environ | {
        "OUTDIAL_DATABASE_URL": _dsn(DB),
        "OUTDIAL_LOG_LEVEL": "WARNING",
        "OUTDIAL_LOG_FORMAT": "json",
        "OUTDIAL_DB_POOL_MAX": "10",
    }
    proc = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv" / "bin" / "outdial"),
        "web",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return proc
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    proc.kill()
    sys.exit("outdial web did not come up")


async def _client(
    url: str, token: str, until: float, pace: float, latencies: list[float]
) -> int:
    errors = 0
    # Real pages are not in step: spread the first polls over one period.
    await asyncio.sleep(random.random() * pace)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        http.cookie_jar.update_cookies({"outdial_session": token})
        while time.monotonic() < until:
            started = time.monotonic()
            async with http.get(url) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.monotonic() - started)
            if pace:
                await asyncio.sleep(max(pace - (time.monotonic() - started), 0))

    return errors


async def _phase(
    name: str, port: int, tokens: list[str], seconds: float, pace: float
) -> None:
    url = f"http://127.0.0.1:{port}/api/desktop"
    latencies: list[float] = []
    until = time.monotonic() + seconds
    started = time.monotonic()
    errors = await asyncio.gather(
        *(_client(url, t, until, pace, latencies) for t in tokens)
    )
    took = time.monotonic() - started
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100)
    print(
        f"{name:>9}: {len(ms) / took:8.0f} req/s  p50 {q[49]:6.1f} ms"
        f"  p95 {q[94]:6.1f} ms  p99 {q[98]:6.1f} ms  errors {sum(errors)}"
        f"  ({len(tokens)} desktops, {took:.1f} s)"
    )


async def main() -> None:
    """Seed, serve, measure, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operators", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    tokens = await _create(args.operators)
    port = _free_port()
    proc = await _start_server(port)
    try:
        await _phase("paced 1/s", port, tokens, args.seconds, pace=1.0)
        await _phase("flat out", port, tokens[:50], args.seconds, pace=0.0)
    finally:
        proc.terminate()
        await proc.wait()
        if not args.keep:
            await _drop()


if __name__ == "__main__":
    asyncio.run(main())
