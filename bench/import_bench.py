"""
How fast ``outdial contacts import`` loads a large contact file.

Generates a CSV of N rows (1,000,000 by default) shaped like a real bank list:
mostly clean mobile numbers, some written with +86/0086, spaces, dashes or
full-width digits, some land lines, duplicates and bad rows. Imports it into a
fresh database (created and dropped on the server of OUTDIAL_DATABASE_URL, or
127.0.0.1:5432) and prints rows per second.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--encoding utf-8|gbk]
"""

import argparse
import asyncio
import csv
import importlib
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from engine.campaigns.importer import import_contacts
from engine.campaigns.models import CampaignSpec
from engine.campaigns.repository import create_campaign
from engine.db import migrations
from engine.db.pool import create_pool

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
PREFIXES = ("138", "139", "137", "136", "135", "150", "151", "186", "187", "189")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _number(rng: random.Random) -> str:
    mobile = rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
    shape = rng.random()
    if shape < 0.70:
        return mobile
    if shape < 0.80:
        return f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    if shape < 0.85:
        return f"0086-{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    if shape < 0.90:
        return mobile.translate(FULL_WIDTH)
    if shape < 0.95:
        return f"(010) {rng.randrange(6000, 8999)} {rng.randrange(10**4):04d}"
    if shape < 0.97:
        return f"{rng.randrange(10**4, 10**6)}"

    return ""


def generate(path: Path, rows: int, encoding: str, seed: int = 7) -> None:
    """Write the test file: header, then ``rows`` rows, ~3% repeating earlier ones."""
    rng = random.Random(seed)
    earlier: list[str] = []
    with path.open("w", encoding=encoding, newline="") as f:
        out = csv.writer(f)
        out.writerow(["phone", "name", "account", "amount_due", "branch"])
        for i in range(rows):
            if earlier and rng.random() < 0.03:
                number = rng.choice(earlier)
            else:
                number = _number(rng)
                if len(earlier) < 10_000:
                    earlier.append(number)
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            out.writerow(
                [
                    number,
                    name,
                    f"62220{i:011d}",
                    f"{rng.randrange(100, 99999)}.00",
                    rng.choice(("北京分行", "上海分行", "深圳分行")),
                ]
            )


async def _server_cpu(pool: asyncpg.Pool) -> float:
    """CPU seconds of the database's backends so far (server on this host)."""
    rows = await pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    )

    return sum(_process_cpu(r[0]) for r in rows)


def _process_cpu(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")

    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _with_database(dsn: str, name: str) -> str:
    base, _, _ = dsn.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name


async def run(rows: int, encoding: str, workdir: Path) -> None:
    """Generate, import into a throwaway database, print the figures."""
    path = workdir / "contacts.csv"
    started = time.perf_counter()
    generate(path, rows, encoding)
    print(
        f"generated {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB, {encoding})"
        f" in {time.perf_counter() - started:.1f} s"
    )
    server = os.environ.get("OUTDIAL_DATABASE_URL", SERVER)
    name = f"outdial_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        pool = await create_pool(_with_database(server, name), min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                await migrations.upgrade(conn)
            await create_campaign(
                pool, CampaignSpec("bench", "collections", "95555"), "bench"
            )
            cpu, server_cpu = time.process_time(), await _server_cpu(pool)
            result = await import_contacts(pool, "bench", path, actor="bench")
            cpu = time.process_time() - cpu
            server_cpu = await _server_cpu(pool) - server_cpu
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(
        f"rows read {result.rows_read:,}  loaded {result.loaded:,}  "
        f"duplicates {result.duplicates:,}  bad {result.bad_count:,}"
    )
    print(
        f"import: {result.seconds:.1f} s, {result.rows_read / result.seconds:,.0f} rows/s"
    )
    print(
        f"CPU: outdial {cpu:.1f} s, Postgres backend {server_cpu:.1f} s"
        f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )


def main() -> None:
    """Parse the arguments and run the benchmark in a temporary directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--encoding", choices=("utf-8", "gbk"), default="utf-8")
    args = parser.parse_args()
    # As ``outdial contacts import`` does: compliance registers its do-not-call hook.
    importlib.import_module("engine.compliance")
    with tempfile.TemporaryDirectory(prefix="outdial-import-") as tmp:
        asyncio.run(run(args.rows, args.encoding, Path(tmp)))


if __name__ == "__main__":
    main()
