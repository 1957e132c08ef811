"""The campaigns repository as the dialer uses it: running campaigns, finish."""

import asyncpg
import pytest

from engine.campaigns.exceptions import CampaignNotFoundError, IllegalTransitionError
from engine.campaigns.models import CampaignSpec, CampaignState, RetryPolicy
from engine.campaigns.repository import (
    change_state,
    create_campaign,
    get_campaign,
    list_campaigns,
)


async def test_list_campaigns_by_state_gives_running_only(pool: asyncpg.Pool):
    for name in ("a", "b", "c"):
        await create_campaign(pool, CampaignSpec(name, "survey", "95555"), "t")
    await change_state(pool, "b", "start", "t")

    running = await list_campaigns(pool, states=(CampaignState.RUNNING,))

    assert [c.name for c in running] == ["b"]
    assert running[0].active


async def test_finish_allowed_only_from_running(pool: asyncpg.Pool):
    await create_campaign(pool, CampaignSpec("a", "survey", "95555"), "t")
    await change_state(pool, "a", "start", "t")
    await change_state(pool, "a", "pause", "t")

    with pytest.raises(
        IllegalTransitionError, match="cannot finish campaign 'a': it is paused"
    ):
        await change_state(pool, "a", "finish", "engine-1")
    await change_state(pool, "a", "resume", "t")
    finished = await change_state(
        pool, "a", "finish", "engine-1", reason="no contacts left"
    )

    actor = await pool.fetchval(
        "SELECT actor FROM audit_log WHERE action = 'campaign_finish'"
    )
    assert (finished.state, finished.ended, actor) == (
        CampaignState.FINISHED,
        True,
        "engine-1",
    )


async def test_get_campaign_by_id_or_name_roundtrips_retry_policy(pool: asyncpg.Pool):
    spec = CampaignSpec(
        "2024-q4", "collections", "95555", retry=RetryPolicy(5, {"busy": 60})
    )
    created = await create_campaign(pool, spec, "t")

    by_id = await get_campaign(pool, created.id)
    by_name = await get_campaign(pool, "2024-q4")

    assert by_id == by_name == created
    assert (created.retry.max_attempts, created.retry.delay_after("busy")) == (5, 60)
    assert created.retry.delay_after("no_answer") is None


async def test_get_campaign_unknown_raises_not_found(pool: asyncpg.Pool):
    with pytest.raises(CampaignNotFoundError, match="no campaign named 'nope'"):
        await get_campaign(pool, "nope")
