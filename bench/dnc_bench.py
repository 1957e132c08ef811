"""
How fast the do-not-call list loads, and how long the dial-time check takes.

Generates a list of N numbers (10,000,000 by default) shaped like a
regulator's file: E.164 and bare national mobiles, some with spaces, a few
bad lines. Imports it into a fresh database (created and dropped on the server
of OUTDIAL_DATABASE_URL, or 127.0.0.1:5432) with ``outdial dnc import``'s code
and prints numbers per second; then times the dial-time suppression check
(the query the gate runs for every dial) for numbers on and off the list and
prints p50/p99, and the same for the whole gate decision.

    .venv/bin/python bench/dnc_bench.py [--numbers 10000000] [--checks 20000]
"""

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from engine.compliance import callerids
from engine.compliance.dnc import find_active
from engine.compliance.dncimport import import_file
from engine.compliance.gate import ComplianceGate
from engine.db import migrations
from engine.db.pool import connect, create_pool
from engine.dialer.models import Campaign, Contact
from engine.logging import configure_logging
from engine.settings import Settings

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIXES = ("138", "139", "137", "136", "135", "150", "151", "186", "187", "189")
NOW = datetime(2026, 6, 10, 2, tzinfo=UTC)  # a Wednesday, 10:00 in Shanghai


def _mobile(rng: random.Random) -> str:
    return rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"


def generate(path: Path, count: int, seed: int = 11) -> None:
    """Write ``count`` lines: 60% E.164, 38% national, 2% spaced, 1 in 10^4 bad."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for start in range(0, count, 100_000):
            lines = []
            for _ in range(min(100_000, count - start)):
                mobile, shape = _mobile(rng), rng.random()
                if shape < 0.0001:
                    lines.append("12345")
                elif shape < 0.6:
                    lines.append("+86" + mobile)
                elif shape < 0.98:
                    lines.append(mobile)
                else:
                    lines.append(f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}")
            out.write("\n".join(lines) + "\n")


def _with_db(dsn: str, name: str) -> str:
    return dsn.rsplit("/", 1)[0] + "/" + name


def _percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:.3f} ms, p99 {cuts[98] * 1000:.3f} ms"


async def time_import(dsn: str, path: Path) -> None:
    """Import the file and print the rate."""
    conn = await connect(dsn)
    try:
        started = time.perf_counter()
        result = await import_file(
            conn,
            path,
            scope="all",
            source="regulator",
            reason="bench",
            actor="bench",
            now=NOW,
        )
        took = time.perf_counter() - started
    finally:
        await conn.close()
    print(
        f"import: {result.lines:,} lines in {took:.1f} s = {result.lines / took:,.0f}"
        f" lines/s; {result.numbers:,} distinct numbers listed,"
        f" {result.rejected_count:,} rejected"
    )


async def time_checks(dsn: str, checks: int) -> None:
    """Time the suppression query and the whole gate, on and off the list."""
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            listed = [
                r["phone"]
                for r in await conn.fetch(
                    "SELECT '+' || p AS phone FROM dnc_list_blocks"
                    " TABLESAMPLE SYSTEM (5), unnest(phones) AS p LIMIT $1",
                    checks // 2,
                )
            ]
            rng = random.Random(5)
            phones = listed + [
                "+86" + _mobile(rng) for _ in range(checks - len(listed))
            ]
            rng.shuffle(phones)
            samples, hits = [], 0
            for phone in phones:
                started = time.perf_counter()
                hits += await find_active(conn, phone, "collections", NOW) is not None
                samples.append(time.perf_counter() - started)
            print(
                f"suppression check: {len(phones):,} lookups ({hits:,} listed),"
                f" {_percentiles(samples)}"
            )
            await time_gate(conn, phones[:2000])
    finally:
        await pool.close()


async def time_gate(conn: asyncpg.Connection, phones: list[str]) -> None:
    """Time ``ComplianceGate.check`` at the lease stage for a sample of numbers."""
    await callerids.approve(conn, "95555", label="bench", actor="bench")
    row = await conn.fetchrow(
        "INSERT INTO campaigns (name, kind, caller_id) VALUES ('bench', 'collections',"
        " '95555') RETURNING *"
    )
    campaign = Campaign.from_row(row)
    await conn.executemany(
        "INSERT INTO contacts (campaign_id, phone) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING",
        [(campaign.id, p) for p in phones],
    )
    contacts = [
        Contact.from_row(r)
        for r in await conn.fetch(
            "SELECT * FROM contacts WHERE campaign_id = $1", campaign.id
        )
    ]
    gate, samples = ComplianceGate(Settings()), []
    for contact in contacts:
        started = time.perf_counter()
        await gate.check(conn, campaign, contact, NOW, "lease")
        samples.append(time.perf_counter() - started)
    print(f"gate decision: {len(samples):,} checks, {_percentiles(samples)}")


async def main(numbers: int, checks: int) -> None:
    """Create a database, run both measurements, drop the database."""
    server = os.environ.get("OUTDIAL_DATABASE_URL", SERVER)
    name = f"outdial_dncbench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = _with_db(server, name)
    try:
        conn = await asyncpg.connect(dsn)
        await migrations.upgrade(conn)
        await conn.close()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "dnc.txt"
            started = time.perf_counter()
            generate(path, numbers)
            print(
                f"generated {numbers:,} lines in {time.perf_counter() - started:.1f} s"
            )
            await time_import(dsn, path)
        await time_checks(dsn, checks)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--numbers", type=int, default=10_000_000)
    parser.add_argument("--checks", type=int, default=20_000)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    asyncio.run(main(args.numbers, args.checks))
