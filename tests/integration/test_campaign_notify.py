"""Campaign state changes reach a listener through LISTEN/NOTIFY."""

import asyncio

import asyncpg

from engine.campaigns.models import CampaignSpec, CampaignState
from engine.campaigns.notify import CampaignEvent, campaign_events, on_campaign_event
from engine.campaigns.repository import change_state, create_campaign


async def _running(pool: asyncpg.Pool) -> int:
    campaign = await create_campaign(pool, CampaignSpec("q1", "survey", "95555"), "t")
    await change_state(pool, campaign.id, "start", "t")

    return campaign.id


async def test_campaign_events_stop_and_pause_arrive_in_order(
    pool: asyncpg.Pool, db_dsn: str
):
    campaign_id = await _running(pool)

    async with campaign_events(db_dsn) as queue:
        await change_state(pool, campaign_id, "pause", "t", reason="lunch")
        await change_state(pool, campaign_id, "stop", "t")
        events = [await asyncio.wait_for(queue.get(), 10) for _ in range(2)]

    assert events == [
        CampaignEvent(campaign_id, CampaignState.PAUSED),
        CampaignEvent(campaign_id, CampaignState.STOPPED),
    ]


async def test_campaign_events_rolled_back_change_sends_nothing(
    pool: asyncpg.Pool, db_dsn: str
):
    campaign_id = await _running(pool)

    async with campaign_events(db_dsn) as queue, pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await change_state(conn, campaign_id, "pause", "t")
        await tx.rollback()
        await change_state(pool, campaign_id, "stop", "t")
        event = await asyncio.wait_for(queue.get(), 10)

    assert event == CampaignEvent(campaign_id, CampaignState.STOPPED)


async def test_on_campaign_event_calls_handler(pool: asyncpg.Pool, db_dsn: str):
    campaign_id = await _running(pool)
    seen: asyncio.Queue[CampaignEvent] = asyncio.Queue()

    async with on_campaign_event(db_dsn, seen.put):
        await change_state(pool, campaign_id, "pause", "t")
        event = await asyncio.wait_for(seen.get(), 10)

    assert event == CampaignEvent(campaign_id, CampaignState.PAUSED)


async def test_campaign_events_lost_connection_reconnects_and_asks_resync(
    pool: asyncpg.Pool, db_dsn: str
):
    campaign_id = await _running(pool)

    async with campaign_events(db_dsn, reconnect_delay=0.05) as queue:
        killed = await pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        resync = await asyncio.wait_for(queue.get(), 10)
        await change_state(pool, campaign_id, "pause", "t")
        after = await asyncio.wait_for(queue.get(), 10)

    assert killed == 1
    assert resync.resync
    assert after == CampaignEvent(campaign_id, CampaignState.PAUSED)
