"""
Call controller benchmark: thousands of calls through ``outdial run`` and the
simulator, each in its own process, next to this machine's raw aiohttp rate.

    .venv/bin/python bench/calls_bench.py [--calls 2000] [--time-scale 0.05]

Prints calls set up per second (originates per second while the campaign
ran), CPU seconds per 1,000 calls and peak RSS of the engine process (from
the kernel's rusage of the child), event-handling latency p50/p99 (ARI event
timestamp to handler completion, as the engine logs it at shutdown), and the
rate of a bare aiohttp client against a trivial aiohttp server measured in the
same run. Uses ``OUTDIAL_DATABASE_URL`` if set, else a throwaway database on
127.0.0.1:5432. Bounded by ``--max-seconds``.

The simulator runs at ``--time-scale 1`` by default with short calls (ring
0.2-1 s, talk 0.5-2 s): its event timestamps are then wall-clock times, which
the latency figure needs. The engine runs ``outdial run`` as shipped,
compliance gate included (the bench approves its caller id and opens the
survey calling window all day).
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web
from rich.console import Console
from rich.table import Table

from engine.db import migrations
from engine.db.pool import create_pool

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _trivial_server(port: int) -> None:
    async def ping(_: web.Request) -> web.Response:
        return web.json_response({"ping": "pong"})

    app = web.Application()
    app.router.add_get("/ping", ping)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _sim_server(port: int, time_scale: float) -> None:
    from engine.sim import RandomModel, Simulator

    async def serve() -> None:
        sim = Simulator(username="outdial", password="outdial", time_scale=time_scale)
        sim.parties.default = RandomModel(
            answer_rate=0.7, ring=(0.2, 1.0), talk=(0.5, 2.0)
        )
        await sim.start(host="127.0.0.1", port=port)
        await asyncio.Event().wait()

    asyncio.run(serve())


def start_child(target: object, *args: object) -> multiprocessing.process.BaseProcess:
    """A server in a spawned child process."""
    child = multiprocessing.get_context("spawn").Process(
        target=target, args=args, daemon=True
    )
    child.start()

    return child


async def wait_http(url: str, deadline: float = 20.0) -> None:
    """Poll a URL until it answers at all."""
    end = time.monotonic() + deadline
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as resp:
                    await resp.read()
                    return
            except aiohttp.ClientError:
                if time.monotonic() > end:
                    raise
                await asyncio.sleep(0.05)


async def raw_aiohttp_rate(seconds: float, concurrency: int = 16) -> float:
    """Requests per second of a bare aiohttp client on loopback."""
    port = free_port()
    child = start_child(_trivial_server, port)
    url = f"http://127.0.0.1:{port}/ping"
    try:
        await wait_http(url)
        count = 0
        stop = time.perf_counter() + seconds
        async with aiohttp.ClientSession() as session:

            async def worker() -> None:
                nonlocal count
                while time.perf_counter() < stop:
                    async with session.get(url) as resp:
                        await resp.read()
                    count += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
    finally:
        child.terminate()
        child.join(5)

    return count / elapsed


async def make_database() -> tuple[str, str | None]:
    """A migrated database: (dsn, name to drop afterwards or None)."""
    if os.environ.get("OUTDIAL_DATABASE_URL"):
        dsn = os.environ["OUTDIAL_DATABASE_URL"]
        name = None
    else:
        name = f"outdial_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(SERVER)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        dsn = SERVER.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(dsn)
    await migrations.upgrade(conn)
    await conn.close()

    return dsn, name


async def drop_database(name: str | None) -> None:
    """Drop the throwaway database."""
    if name is not None:
        admin = await asyncpg.connect(SERVER)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def seed_campaign(dsn: str, calls: int, cps: float, concurrent: int) -> int:
    """A running campaign of ``calls`` contacts, no retries."""
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        campaign_id: int = await pool.fetchval(
            "INSERT INTO campaigns (name, kind, caller_id, state, max_concurrent,"
            " calls_per_second, retry_delays) VALUES ($1, 'survey', '95555',"
            " 'running', $2, $3, '{}') RETURNING id",
            f"bench-{uuid.uuid4().hex[:8]}",
            concurrent,
            cps,
        )
        # Compliance refuses unapproved caller ids; approve the bench's line.
        await pool.execute(
            "INSERT INTO approved_caller_ids (caller_id, label, added_by)"
            " VALUES ('95555', 'bench line', 'bench') ON CONFLICT DO NOTHING"
        )
        rng = random.Random(1)
        phones = rng.sample(range(10**8), calls)
        await pool.copy_records_to_table(
            "contacts",
            records=[(campaign_id, f"+86139{p:08d}") for p in phones],
            columns=["campaign_id", "phone"],
        )
    finally:
        await pool.close()

    return campaign_id


def run_engine(env: dict[str, str], max_seconds: float) -> tuple[float, int, dict]:
    """``outdial run --until-idle``: (cpu seconds, peak rss KiB, shutdown log)."""
    outdial = Path(sys.executable).with_name("outdial")
    log_path = Path(tempfile.gettempdir()) / "outdial-calls-bench-engine.log"
    with open(log_path, "w+b") as log:
        child = subprocess.Popen(
            [str(outdial), "run", "--until-idle"], env=env, stderr=log
        )
        deadline = time.monotonic() + max_seconds
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.terminate()
            time.sleep(0.1)
        child.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        summary = _shutdown_line(log.read().decode(errors="replace"))

    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss, summary


def _shutdown_line(text: str) -> dict:
    for line in reversed(text.splitlines()):
        if '"engine_stopped"' in line:
            return json.loads(line)
    return {}


async def call_figures(dsn: str, campaign_id: int) -> dict[str, float]:
    """Calls placed and the originate rate while the campaign ran."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS calls,"
            " count(*) FILTER (WHERE outcome = 'answered') AS answered,"
            " extract(epoch FROM max(originated_at) - min(originated_at)) AS span,"
            " (SELECT count(*) FROM recordings WHERE state = 'archived') AS archived,"
            " count(*) FILTER (WHERE state <> 'ended') AS open"
            " FROM call_attempts WHERE campaign_id = $1",
            campaign_id,
        )
    finally:
        await conn.close()
    span = float(row["span"] or 0.0)

    return {
        "calls": row["calls"],
        "answered": row["answered"],
        "archived": row["archived"],
        "open": row["open"],
        "rate": row["calls"] / span if span else 0.0,
    }


def engine_env(
    dsn: str, ari_url: str, recordings: str, pool_max: int
) -> dict[str, str]:
    """Environment of the engine process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTDIAL_")}
    env |= {
        "OUTDIAL_DATABASE_URL": dsn,
        "OUTDIAL_ARI_URL": ari_url,
        "OUTDIAL_ARI_APP": "bench",
        "OUTDIAL_ENGINE_ID": f"bench-{os.getpid()}",
        "OUTDIAL_RECORDINGS_DIR": recordings,
        "OUTDIAL_LOG_FORMAT": "json",
        "OUTDIAL_LOG_LEVEL": "INFO",
        "OUTDIAL_MAX_CALLS": "1000",
        "OUTDIAL_DB_POOL_MAX": str(pool_max),
        "OUTDIAL_ENV_FILE": "/nonexistent",
        # Compliance gates every call; open the window all day so the result
        # does not depend on the hour the run happens at.
        "OUTDIAL_CALLING_WINDOWS": '{"survey": "daily 00:00-24:00"}',
    }

    return env


def render(figures: dict[str, float], shutdown: dict, console: Console) -> None:
    """Print the figures as a table."""
    table = Table(title="calls bench (engine and simulator in separate processes)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    calls = figures["calls"] or 1
    rows = [
        (
            "calls placed (answered / recordings archived)",
            f"{figures['calls']:.0f} ({figures['answered']:.0f} / {figures['archived']:.0f})",
        ),
        ("attempts left open", f"{figures['open']:.0f}"),
        ("calls set up per second", f"{figures['rate']:.1f}"),
        ("engine CPU seconds per 1,000 calls", f"{figures['cpu'] * 1000 / calls:.2f}"),
        ("engine peak RSS", f"{figures['rss_kib'] / 1024:.0f} MiB"),
        (
            "event handling latency p50 / p99",
            f"{shutdown.get('p50_ms', 0):.1f} / {shutdown.get('p99_ms', 0):.1f} ms"
            f" ({shutdown.get('events', 0):.0f} events)",
        ),
        (
            "raw aiohttp requests per second (same machine, same run)",
            f"{figures['raw']:.0f}",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


async def main(args: argparse.Namespace) -> None:
    """Run the bench and print its figures."""
    console = Console()
    raw = await raw_aiohttp_rate(args.raw_seconds)
    dsn, dbname = await make_database()
    port = free_port()
    sim = start_child(_sim_server, port, args.time_scale)
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_http(f"{url}/ari/asterisk/ping")
        campaign_id = await seed_campaign(dsn, args.calls, args.cps, args.concurrent)
        with tempfile.TemporaryDirectory() as recordings:
            env = engine_env(dsn, url, recordings, args.db_pool_max)
            cpu, rss, shutdown = await asyncio.to_thread(
                run_engine, env, args.max_seconds
            )
        figures = await call_figures(dsn, campaign_id)
    finally:
        sim.terminate()
        sim.join(5)
        await drop_database(dbname)
    figures |= {"cpu": cpu, "rss_kib": float(rss), "raw": raw}
    render(figures, shutdown, console)


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--cps", type=float, default=200.0)
    parser.add_argument("--concurrent", type=int, default=300)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--raw-seconds", type=float, default=3.0)
    parser.add_argument(
        "--db-pool-max", type=int, default=10, help="OUTDIAL_DB_POOL_MAX of the engine"
    )
    parser.add_argument("--max-seconds", type=float, default=150.0)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
