"""
``outdial demo``: the simulator, the engine and a generated campaign, with live
progress in the terminal and a summary at the end.

Everything runs in this process: the ARI simulator on a free local port, the
database named by ``OUTDIAL_DATABASE_URL`` (or the embedded one), and the real
engine built by ``build_engine`` with the compliance gate, as ``outdial run``
builds it. Each run creates a fresh campaign.

Compliance runs in the demo as anywhere else: the caller id is approved
through the compliance API, a tenth of the generated numbers are put on the
do-not-call list (and show as suppressed in the summary), attempt limits and
the minimum gap apply. So that the demo works at any hour of any day, the
demo process's own settings (``demo_settings``, never written anywhere) give
the demo's kind of call an all-day window and a short minimum gap, and the
demo campaign's policy allows calling on public holidays.
"""

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

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
from engine.clock import Clock, SystemClock
from engine.compliance.callerids import approve
from engine.compliance.dnc import add_entry
from engine.compliance.gate import ComplianceGate
from engine.compliance.policy import set_policy
from engine.dialer.engine import build_engine
from engine.settings import Settings, get_settings

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
_SUPPRESSED = """
SELECT count(*) FROM contacts WHERE campaign_id = $1
  AND state IN ('suppressed', 'cancelled') AND state_reason LIKE 'dnc%'
"""
KIND = "customer_care"
CALLER_ID = "95555"
# The demo's institution: its kind of call may ring all day, every day, and a
# number may be called again after the shortest retry delay below.
DEMO_WINDOWS = json.dumps({KIND: "daily 00:00-24:00"})
DEMO_GAP_S = 5
# Real seconds: short enough that the demo shows retries happening.
RETRY_DELAYS = {"busy": 5, "no_answer": 8}


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


def demo_settings(settings: Settings) -> Settings:
    """The demo process's settings: the demo institution's window and gap."""
    return settings.model_copy(
        update={
            "log_level": "WARNING",
            "calling_windows": DEMO_WINDOWS,
            "min_call_gap_s": DEMO_GAP_S,
        }
    )


async def create_demo_campaign(
    pool: asyncpg.Pool, options: DemoOptions, settings: Settings, clock: Clock
) -> int:
    """A running campaign of generated contacts, a tenth of them on the DNC list."""
    spec = CampaignSpec(
        name=f"demo-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}",
        kind=KIND,
        caller_id=CALLER_ID,
        max_concurrent=40,
        calls_per_second=10,
        ring_timeout_s=30,
        retry=RetryPolicy(max_attempts=2, delays=RETRY_DELAYS),
    )
    campaign = await create_campaign(pool, spec, "demo")
    rng = random.Random(options.seed)
    numbers = demo_numbers(options.contacts, rng)
    await pool.copy_records_to_table(
        "contacts",
        records=[(campaign.id, n, i + 1) for i, n in enumerate(numbers)],
        columns=["campaign_id", "phone", "source_line"],
    )
    async with pool.acquire() as conn:
        # The demo's own line, approved as a bank approves its caller ids.
        await approve(conn, spec.caller_id, label="demo line", actor="demo")
        await set_policy(
            conn,
            str(campaign.id),
            {"call_on_holidays": True, "min_call_gap_s": DEMO_GAP_S},
            settings=settings,
            actor="demo",
        )
        await seed_dnc(conn, rng.sample(numbers, len(numbers) // 10), clock)
    await change_state(pool, campaign.id, "start", "demo")

    return campaign.id


async def seed_dnc(conn: asyncpg.Connection, numbers: list[str], clock: Clock) -> None:
    """Put demo numbers on the do-not-call list for a day; their contacts stop."""
    now = clock.now()
    for number in numbers:
        await add_entry(
            conn,
            number,
            scope="all",
            source="customer_refusal",
            reason="demo: asked not to be called",
            actor="demo",
            now=now,
            expires_at=now + timedelta(days=1),
        )


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
        ("not called: do-not-call list", "suppressed"),
        ("recordings archived", "archived"),
    ):
        table.add_row(label, str(counts.get(key, 0)))

    return table


async def _counts(pool: asyncpg.Pool, campaign_id: int) -> dict[str, int]:
    row = dict(await pool.fetchrow(_COUNTS, campaign_id))
    row |= dict(await pool.fetchrow(_DONE, campaign_id))
    row["suppressed"] = await pool.fetchval(_SUPPRESSED, campaign_id)

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
            clock = SystemClock()
            campaign_id = await create_demo_campaign(pool, options, settings, clock)
            console.print(f"campaign {campaign_id} started, simulator at {sim.url}")
            ari = AriClient.from_settings(settings)
            gates = [ComplianceGate(settings)]
            engine = build_engine(settings, pool, ari, clock, gates=gates)
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
    console.print(f"recordings under {settings.recordings_dir.resolve()}/")


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
    # Logging is configured once per process: with the demo's quieter level,
    # so libraries' INFO chatter (the embedded server's start) stays hidden.
    settings = setup(demo_settings(get_settings()))
    options = DemoOptions(contacts, time_scale, seed)
    run(demo_main(settings, options, Console()))


COMMANDS = [demo]
