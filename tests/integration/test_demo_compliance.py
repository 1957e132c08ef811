"""
The demo's campaign under the real compliance gate: its own settings let it
ring at any hour of any day, and the gate still refuses listed numbers.
"""

from datetime import UTC, datetime

import asyncpg

from engine.cli.demo import DemoOptions, create_demo_campaign, demo_settings
from engine.clock import FakeClock
from engine.compliance.gate import ComplianceGate
from engine.dialer.models import Campaign, Contact
from engine.dialer.seams import GateDecision
from engine.settings import Settings

# 03:00 in Shanghai on National Day (a public holiday), and 23:59:40 on a
# Sunday, when a 30 s ring runs past midnight.
HOLIDAY_NIGHT = datetime(2026, 9, 30, 19, 0, tzinfo=UTC)
SUNDAY_MIDNIGHT = datetime(2026, 10, 4, 15, 59, 40, tzinfo=UTC)


async def _check(
    pool: asyncpg.Pool, settings: Settings, state: str, now: datetime
) -> GateDecision:
    """The gate's decision for the first contact in ``state``, at ``now``."""
    async with pool.acquire() as conn:
        campaign = Campaign.from_row(await conn.fetchrow("SELECT * FROM campaigns"))
        row = await conn.fetchrow(
            "SELECT * FROM contacts WHERE state = $1 ORDER BY id LIMIT 1", state
        )
        gate = ComplianceGate(settings)
        return await gate.check(conn, campaign, Contact.from_row(row), now, "lease")


async def test_demo_campaign_night_and_holiday_dialable_listed_refused(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    settings = demo_settings(Settings(database_url=db_dsn))
    options = DemoOptions(contacts=20, time_scale=0.01, seed=5)
    await create_demo_campaign(pool, options, settings, FakeClock(HOLIDAY_NIGHT))

    night = await _check(pool, settings, "pending", HOLIDAY_NIGHT)
    midnight = await _check(pool, settings, "pending", SUNDAY_MIDNIGHT)
    listed = await _check(pool, settings, "suppressed", HOLIDAY_NIGHT)
    institution = await _check(
        pool, Settings(database_url=db_dsn), "pending", HOLIDAY_NIGHT
    )

    assert night.allowed
    assert midnight.allowed
    assert (listed.allowed, listed.final) == (False, True)
    assert listed.reason.startswith("dnc:")
    # Outside the demo's process the bank's own customer care window applies.
    assert not institution.allowed
    assert institution.reason.startswith("window:")
    suppressed = await pool.fetchval(
        "SELECT count(*) FROM contacts WHERE state = 'suppressed'"
    )
    assert suppressed == 2
