"""
Operators benchmark: how fast routing claims operators, and how long answered
customers wait for one on a simulated shift.

    .venv/bin/python bench/operators_bench.py [--operators 20] [--calls 200]
        [--sessions 200] [--claims 4000] [--workers 8]

1. routing: ``--sessions`` ready operator sessions and ``--workers`` concurrent
   claimers on two pools (many answered calls routed at once), each claiming
   the longest-idle operator and freeing it again at once, ``--claims`` times
   in all. Prints
   claims per second and claim latency p50/p99, and checks that no operator
   was ever held by two claimers at once (the SKIP LOCKED guarantee).
2. shift: the real engine with operators attached against the simulator
   (time_scale 0.01), ``--operators`` softphones logged in and ``--calls``
   customers who all answer and talk 50 simulated seconds. Prints the
   answer-to-bridge wait (p50/p99/max), abandoned calls, and calls per
   wall-clock minute.

Each part runs in a fresh database on the server of OUTDIAL_DATABASE_URL (or
127.0.0.1:5432), dropped afterwards.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from engine.ari import AriClient
from engine.clock import SystemClock
from engine.db import migrations
from engine.db.pool import create_pool
from engine.dialer.engine import build_engine
from engine.logging import configure_logging
from engine.operators.routing import claim_operator
from engine.operators.sessions import SessionState, transition
from engine.operators.wiring import build_operators
from engine.settings import Settings
from engine.sim import Behaviour, Simulator

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
ARI = "http://bench"


def _with_db(dsn: str, name: str) -> str:
    return dsn.rsplit("/", 1)[0] + "/" + name


async def _fresh_db(server: str) -> str:
    name = f"outdial_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    dsn = _with_db(server, name)
    conn = await asyncpg.connect(dsn)
    await migrations.upgrade(conn)
    await conn.close()

    return dsn


async def _drop_db(server: str, dsn: str) -> None:
    conn = await asyncpg.connect(server)
    await conn.execute(
        f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)'
    )
    await conn.close()


def _ms(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1] * 1000


async def _seed_routing(pool: asyncpg.Pool, sessions: int, calls: int) -> list[str]:
    now = datetime.now(UTC)
    campaign_id = await pool.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id, state, settings)"
        " VALUES ('bench', 'survey', '95555', 'running', '{\"operators\": true}')"
        " RETURNING id"
    )
    await pool.executemany(
        "INSERT INTO operators (id, name, role, endpoint, password_hash,"
        " password_changed_at, password_expires_at) VALUES"
        " ($1, $1, 'operator', $2, 'x', $3, $3)",
        [(f"op{i}", f"PJSIP/{6000 + i}", now) for i in range(sessions)],
    )
    await pool.executemany(
        "INSERT INTO operator_sessions (operator_id, state, state_since, idle_since,"
        " engine_id, ari_url, channel_id) VALUES ($1, 'ready', $2, $2, 'e', $3, $1)",
        [(f"op{i}", now, ARI) for i in range(sessions)],
    )
    await pool.execute(
        "INSERT INTO contacts (campaign_id, phone)"
        " SELECT $1, '+86138' || lpad(g::text, 8, '0') FROM generate_series(1, $2) g",
        campaign_id,
        calls,
    )
    await pool.execute(
        "INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,"
        " caller_id, dial_string, engine_id, lease_expires_at, state)"
        " SELECT 'call-' || id, campaign_id, id, 1, phone, '95555', 'x', 'e', now(),"
        " 'answered' FROM contacts",
    )

    return [r["id"] for r in await pool.fetch("SELECT id FROM call_attempts")]


async def bench_routing(server: str, sessions: int, claims: int, workers: int) -> None:
    """Concurrent claims on two pools; latency, rate and the no-double-claim check."""
    dsn = await _fresh_db(server)
    pools = [await create_pool(dsn, min_size=workers, max_size=workers) for _ in (1, 2)]
    try:
        calls = await _seed_routing(pools[0], sessions, claims)
        held: set[int] = set()
        latencies: list[float] = []
        doubles = 0

        async def worker(n: int) -> None:
            nonlocal doubles
            pool = pools[n % 2]
            for call_id in calls[n::workers]:
                started = time.perf_counter()
                claim = await claim_operator(
                    pool,
                    campaign_id=1,
                    call_id=call_id,
                    engine_id="e",
                    now=datetime.now(UTC),
                )
                latencies.append(time.perf_counter() - started)
                if claim is None:
                    continue
                doubles += claim.session_id in held
                held.add(claim.session_id)
                await asyncio.sleep(0)
                held.discard(claim.session_id)
                async with pool.acquire() as conn, conn.transaction():
                    await transition(
                        conn, claim.session_id, SessionState.WRAP_UP, datetime.now(UTC)
                    )

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(workers)))
        took = time.perf_counter() - started
        print(
            f"routing: {len(latencies):,} claims by {workers} workers on 2 pools in"
            f" {took:.1f} s = {len(latencies) / took:,.0f} claims/s (each with its"
            f" release); claim p50 {_ms(latencies, 50):.2f} ms,"
            f" p99 {_ms(latencies, 99):.2f} ms; operators held twice: {doubles}"
        )
    finally:
        for pool in pools:
            await pool.close()
        await _drop_db(server, dsn)


async def bench_shift(server: str, operators: int, calls: int) -> None:
    """A simulated shift: answer-to-bridge wait and throughput."""
    dsn = await _fresh_db(server)
    async with Simulator(
        username="outdial", password="outdial", time_scale=0.01
    ) as sim:
        sim.parties.set("86139*", Behaviour.answer(after=1.0, hangup_after=50.0))
        settings = Settings(
            database_url=dsn,
            ari_url=sim.url,
            engine_id="bench",
            recordings_dir=Path(tempfile.mkdtemp()),
            operator_wrap_up_s=0.02,
            log_level="WARNING",
        )
        pool = await create_pool(dsn, min_size=2, max_size=10)
        try:
            took = await _run_shift(settings, pool, sim, operators, calls)
            rows = await pool.fetch("SELECT wait_ms FROM operator_calls")
            abandoned = await pool.fetchval(
                "SELECT count(*) FROM call_attempts WHERE outcome = 'abandoned'"
            )
        finally:
            await pool.close()
    await _drop_db(server, dsn)
    waits = [r["wait_ms"] / 1000 for r in rows]
    print(
        f"shift: {operators} operators, {calls} answered calls in {took:.1f} s"
        f" = {calls / took * 60:,.0f} calls/min; bridged {len(waits)}, abandoned"
        f" {abandoned}; answer-to-bridge p50 {_ms(waits, 50):.1f} ms,"
        f" p99 {_ms(waits, 99):.1f} ms, max {max(waits) * 1000:.1f} ms"
    )


async def _run_shift(
    settings: Settings, pool: asyncpg.Pool, sim: Simulator, operators: int, calls: int
) -> float:
    now = datetime.now(UTC)
    for i in range(operators):
        sim.softphones.register(str(6000 + i), answer_after=0.2)
    await pool.executemany(
        "INSERT INTO operators (id, name, role, endpoint, password_hash,"
        " password_changed_at, password_expires_at) VALUES"
        " ($1, $1, 'operator', $2, 'x', $3, $3)",
        [(f"op{i}", f"PJSIP/{6000 + i}", now) for i in range(operators)],
    )
    await pool.executemany(
        "INSERT INTO operator_sessions (operator_id, state, state_since)"
        " VALUES ($1, 'connecting', $2)",
        [(f"op{i}", now) for i in range(operators)],
    )
    campaign_id = await pool.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id, state, max_concurrent,"
        " calls_per_second, settings) VALUES ('shift', 'survey', '95555', 'running',"
        ' 200, 100, \'{"operators": {"ratio": 1.0}}\') RETURNING id'
    )
    await pool.executemany(
        "INSERT INTO contacts (campaign_id, phone) VALUES ($1, $2)",
        [(campaign_id, f"+86139{i:08d}") for i in range(calls)],
    )
    ari = AriClient.from_settings(settings)
    clock = SystemClock()
    engine = build_engine(settings, pool, ari, clock, gates=())
    parts = build_operators(settings, pool, ari, clock)
    parts.attach(engine)
    try:
        async with parts.running():
            await engine.start()
            await _until(pool, _READY, operators)
            started = time.perf_counter()
            runner = asyncio.create_task(engine.controller.run())
            # every call ended (recordings are not archived here: not measured)
            await _until(pool, _ENDED, calls)
            took = time.perf_counter() - started
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
    finally:
        await ari.close()

    return took


_READY = "SELECT count(*) FROM operator_sessions WHERE state = 'ready'"
_ENDED = "SELECT count(*) FROM call_attempts WHERE state = 'ended'"


async def _until(pool: asyncpg.Pool, sql: str, count: int) -> None:
    # Postgres state has no event to wait on: poll it
    while await pool.fetchval(sql) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


def main() -> None:
    """Parse the arguments and run both parts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--claims", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    server = os.environ.get("OUTDIAL_DATABASE_URL", SERVER)
    asyncio.run(bench_routing(server, args.sessions, args.claims, args.workers))
    asyncio.run(bench_shift(server, args.operators, args.calls))


if __name__ == "__main__":
    main()
