"""
``outdial demo``: the simulator, the engine and a generated campaign, with live
progress in the terminal and a summary at the end.

Everything runs in this process: the ARI simulator on a free local port, the
database named by ``OUTDIAL_DATABASE_URL`` (or the embedded one), and the real
engine built by ``build_engine``. Each run creates a fresh campaign.
"""

import asyncio
import random
import time
import uuid
from dataclasses import dataclass

import asyncpg
import click
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine.ari import AriClient
from engine.campaigns.models import CampaignSpec, RetryPolicy
from engine.campaigns.repository import change_state, create_campaign
from engine.cli.common import database, run, setup
from engine.clock import SystemClock
from engine.compliance.callerids import approve
from engine.dialer.engine import build_engine
from engine.settings import Settings

_COUNTS = """
SELECT
  count(*) FILTER (WHERE originated_at IS NOT NULL) AS dialled,
  count(*) FILTER (WHERE state <> 'ended') AS in_progress,
  count(*) FILTER (WHERE outcome = 'answered') AS answered,
  count(*) FILTER (WHERE outcome = 'busy') AS busy,
  count(*) FILTER (WHERE outcome = 'no_answer') AS no_answer,
  count(*) FILTER (WHERE outcome IN ('rejected', 'congestion', 'failed',
                                     'unreachable')) AS failed
FROM call_attempts WHERE campaign_id = $1
"""
_DONE = """
SELECT count(*) FILTER (WHERE state NOT IN ('pending', 'leased')) AS done,
       (SELECT count(*) FROM recordings WHERE campaign_id = $1
          AND state = 'archived') AS archived,
       (SELECT count(*) FROM recordings WHERE campaign_id = $1
          AND state IN ('recording', 'finished')) AS archiving
FROM contacts WHERE campaign_id = $1
"""


@dataclass
class DemoOptions:
    """What the user asked for."""

    contacts: int
    time_scale: float
    seed: int | None


def demo_numbers(count: int, rng: random.Random) -> list[str]:
    """Distinct made-up mainland China mobile numbers in E.164."""
    numbers: set[str] = set()
    while len(numbers) < count:
        numbers.add(f"+86138{rng.randrange(10**8):08d}")

    return sorted(numbers)


async def create_demo_campaign(pool: asyncpg.Pool, options: DemoOptions) -> int:
    """A running campaign of generated contacts, under a fresh name."""
    spec = CampaignSpec(
        name=f"demo-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}",
        kind="customer_care",
        caller_id="95555",
        max_concurrent=40,
        calls_per_second=10,
        ring_timeout_s=30,
        # Real seconds: short enough that the demo shows retries happening.
        retry=RetryPolicy(max_attempts=2, delays={"busy": 5, "no_answer": 8}),
    )
    campaign = await create_campaign(pool, spec, "demo")
    rng = random.Random(options.seed)
    await pool.copy_records_to_table(
        "contacts",
        records=[
            (campaign.id, n, i + 1)
            for i, n in enumerate(demo_numbers(options.contacts, rng))
        ],
        columns=["campaign_id", "phone", "source_line"],
    )
    async with pool.acquire() as conn:
        # The demo's own line, approved as a bank approves its caller ids.
        await approve(conn, spec.caller_id, label="demo line", actor="demo")
    await change_state(pool, campaign.id, "start", "demo")

    return campaign.id


def _table(title: str, counts: dict[str, int]) -> Table:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("calls")
    table.add_column("count", justify="right")
    for label, key in (
        ("dialled", "dialled"),
        ("in progress", "in_progress"),
        ("answered", "answered"),
        ("busy", "busy"),
        ("no answer", "no_answer"),
        ("failed (rejected, congestion, ...)", "failed"),
        ("recordings archived", "archived"),
    ):
        table.add_row(label, str(counts.get(key, 0)))

    return table


async def _counts(pool: asyncpg.Pool, campaign_id: int) -> dict[str, int]:
    row = dict(await pool.fetchrow(_COUNTS, campaign_id))
    row |= dict(await pool.fetchrow(_DONE, campaign_id))

    return {k: int(v) for k, v in row.items()}


async def _watch(
    pool: asyncpg.Pool, campaign_id: int, total: int, console: Console
) -> dict[str, int]:
    progress = Progress(
        TextColumn("contacts done"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    task = progress.add_task("contacts", total=total)
    with Live(console=console, refresh_per_second=4, transient=True) as live:
        while True:
            counts = await _counts(pool, campaign_id)
            progress.update(task, completed=counts["done"])
            live.update(Group(progress, _table("live", counts)))
            settled = not counts["in_progress"] and not counts["archiving"]
            if counts["done"] >= total and settled:
                return counts
            await asyncio.sleep(0.25)


async def demo_main(settings: Settings, options: DemoOptions, console: Console) -> None:
    """Run simulator, engine and campaign until every contact is done."""
    from engine.sim import RandomModel, Simulator

    sim = Simulator(
        username=settings.ari_username,
        password=settings.ari_password.get_secret_value(),
        time_scale=options.time_scale,
        seed=options.seed,
    )
    sim.parties.default = RandomModel(answer_rate=0.6, ring=(2, 12), talk=(10, 60))
    await sim.start(host="127.0.0.1", port=0)
    settings = settings.model_copy(
        update={"ari_url": sim.url, "ari_app": f"outdial-demo-{uuid.uuid4().hex[:6]}"}
    )
    try:
        async with database(settings) as pool:
            campaign_id = await create_demo_campaign(pool, options)
            console.print(f"campaign {campaign_id} started, simulator at {sim.url}")
            ari = AriClient.from_settings(settings)
            engine = build_engine(settings, pool, ari, SystemClock())
            stop = asyncio.Event()
            runner = asyncio.create_task(engine.run(stop))
            try:
                counts = await _watch(pool, campaign_id, options.contacts, console)
            finally:
                stop.set()
                await runner
                await ari.close()
    finally:
        await sim.stop()
    console.print(_table(f"campaign {campaign_id}: summary", counts))
    console.print(f"recordings under {settings.recordings_dir}/")


@click.command("demo")
@click.option(
    "--contacts", default=300, show_default=True, type=click.IntRange(1, 100000)
)
@click.option(
    "--time-scale",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0.001, 10),
    help="Simulated seconds last this many real seconds.",
)
@click.option("--seed", type=int, default=None, help="Make the run repeatable.")
def demo(contacts: int, time_scale: float, seed: int | None) -> None:
    """Simulator + engine + a generated campaign, with live progress."""
    settings = setup()
    settings = settings.model_copy(update={"log_level": "WARNING"})
    setup(settings)
    options = DemoOptions(contacts, time_scale, seed)
    run(demo_main(settings, options, Console()))


COMMANDS = [demo]
