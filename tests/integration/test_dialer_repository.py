"""Tests of the dialer's queries against the real PostgreSQL."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from engine.dialer.models import Campaign
from engine.dialer.outcomes import Outcome
from engine.dialer.repository import CallRepository

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


async def make_campaign(
    pool: asyncpg.Pool, contacts: int, **fields: object
) -> Campaign:
    """Insert a running campaign with ``contacts`` numbered contacts."""
    columns = {"name": f"c-{uuid.uuid4().hex[:8]}", "kind": "survey"}
    columns |= {"caller_id": "95555", "state": "running", **fields}
    names = ", ".join(columns)
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    row = await pool.fetchrow(
        f"INSERT INTO campaigns ({names}) VALUES ({marks}) RETURNING *",
        *columns.values(),
    )
    await pool.executemany(
        "INSERT INTO contacts (campaign_id, phone, next_attempt_at) VALUES ($1, $2, $3)",
        [(row["id"], f"+8613800{i:06d}", NOW) for i in range(contacts)],
    )

    return Campaign.from_row(row)


async def test_lease_contacts_concurrent_engines_get_disjoint_sets(
    pool: asyncpg.Pool,
) -> None:
    campaign = await make_campaign(pool, 50)
    engines = [CallRepository(pool, f"e{i}", 60) for i in range(4)]

    batches = await asyncio.gather(
        *(e.lease_contacts(campaign.id, 20, NOW) for e in engines)
    )

    ids = [c.id for batch in batches for c in batch]
    assert len(ids) == len(set(ids)) == 50
    owners = await pool.fetch(
        "SELECT lease_owner, count(*) FROM contacts GROUP BY lease_owner"
    )
    assert {r["lease_owner"] for r in owners} <= {"e0", "e1", "e2", "e3"}


async def test_lease_contacts_not_due_are_skipped(pool: asyncpg.Pool) -> None:
    campaign = await make_campaign(pool, 3)
    await pool.execute(
        "UPDATE contacts SET next_attempt_at = $1 WHERE phone = '+8613800000001'",
        NOW + timedelta(hours=1),
    )

    leased = await CallRepository(pool, "e", 60).lease_contacts(campaign.id, 10, NOW)

    assert [c.phone for c in leased] == ["+8613800000000", "+8613800000002"]


async def test_end_attempt_busy_schedules_retry_per_policy(pool: asyncpg.Pool) -> None:
    campaign = await make_campaign(pool, 1, max_attempts=2)
    repo = CallRepository(pool, "e", 60)
    (contact,) = await repo.lease_contacts(campaign.id, 1, NOW)
    attempt_id = str(uuid.uuid4())

    assert await repo.create_attempt(attempt_id, campaign, contact, "PJSIP/x") == 1
    await repo.mark_originating(attempt_id, contact.id, NOW)
    result = await repo.end_attempt(attempt_id, campaign, Outcome.BUSY, NOW, cause=17)
    again = await repo.end_attempt(attempt_id, campaign, Outcome.FAILED, NOW)

    row = await pool.fetchrow("SELECT * FROM contacts WHERE id = $1", contact.id)
    assert result is not None
    assert again is None
    assert (row["state"], row["attempts"], row["last_outcome"]) == (
        "pending",
        1,
        "busy",
    )
    assert row["next_attempt_at"] == NOW + timedelta(seconds=300)
    assert row["lease_owner"] is None


async def test_end_attempt_max_attempts_reached_exhausts(pool: asyncpg.Pool) -> None:
    campaign = await make_campaign(pool, 1, max_attempts=1)
    repo = CallRepository(pool, "e", 60)
    (contact,) = await repo.lease_contacts(campaign.id, 1, NOW)
    attempt_id = str(uuid.uuid4())
    await repo.create_attempt(attempt_id, campaign, contact, "PJSIP/x")
    await repo.mark_originating(attempt_id, contact.id, NOW)

    await repo.end_attempt(attempt_id, campaign, Outcome.NO_ANSWER, NOW, cause=19)

    state = await pool.fetchval("SELECT state FROM contacts WHERE id = $1", contact.id)
    attempt = await pool.fetchrow(
        "SELECT * FROM call_attempts WHERE id = $1", attempt_id
    )
    assert state == "exhausted"
    assert (attempt["state"], attempt["outcome"], attempt["hangup_cause"]) == (
        "ended",
        "no_answer",
        19,
    )


async def test_reclaim_expired_leases_skips_contacts_with_open_attempt(
    pool: asyncpg.Pool,
) -> None:
    campaign = await make_campaign(pool, 2)
    repo = CallRepository(pool, "dead", 60)
    first, second = await repo.lease_contacts(campaign.id, 2, NOW)
    await repo.create_attempt(str(uuid.uuid4()), campaign, first, "PJSIP/x")
    await pool.execute("UPDATE contacts SET lease_expires_at = now() - interval '1s'")

    reclaimed = await CallRepository(pool, "alive", 60).reclaim_expired_leases()

    states = dict(await pool.fetch("SELECT id, state FROM contacts"))
    assert reclaimed == 1
    assert states == {first.id: "leased", second.id: "pending"}


async def test_take_over_expired_attempts_moves_ownership(pool: asyncpg.Pool) -> None:
    campaign = await make_campaign(pool, 1)
    dead = CallRepository(pool, "dead", 60)
    (contact,) = await dead.lease_contacts(campaign.id, 1, NOW)
    attempt_id = str(uuid.uuid4())
    await dead.create_attempt(attempt_id, campaign, contact, "PJSIP/x")
    await pool.execute(
        "UPDATE call_attempts SET lease_expires_at = now() - interval '1s'"
    )

    taken = await CallRepository(pool, "alive", 60).take_over_expired_attempts()

    assert [a.id for a in taken] == [attempt_id]
    assert await pool.fetchval("SELECT engine_id FROM call_attempts") == "alive"
    assert await pool.fetchval("SELECT lease_owner FROM contacts") == "alive"


async def test_recordings_orphan_then_claim_then_archive(pool: asyncpg.Pool) -> None:
    campaign = await make_campaign(pool, 1)
    repo = CallRepository(pool, "e", 60)
    (contact,) = await repo.lease_contacts(campaign.id, 1, NOW)
    attempt_id = str(uuid.uuid4())
    await repo.create_attempt(attempt_id, campaign, contact, "PJSIP/x")
    rec_id = await repo.create_recording(attempt_id, campaign.id, f"rec-{attempt_id}")
    await repo.end_attempt(attempt_id, campaign, Outcome.ANSWERED, NOW)

    queued = await repo.finish_orphan_recordings(NOW + timedelta(seconds=30), 10)
    claimed = await repo.claim_recordings(NOW + timedelta(seconds=30), 10, 60)
    hidden = await repo.claim_recordings(NOW + timedelta(seconds=31), 10, 60)
    await repo.mark_archived(rec_id, "a/b.wav", "ab" * 32, 44, 0.0, NOW)

    assert queued == 1
    assert [r.id for r in claimed] == [rec_id]
    assert hidden == []
    assert await pool.fetchval("SELECT state FROM recordings") == "archived"


async def test_take_over_expired_attempts_other_asterisk_left_alone(
    pool: asyncpg.Pool,
) -> None:
    campaign = await make_campaign(pool, 1)
    dead = CallRepository(pool, "dead", 60)
    await dead.register_engine("host-a", 1, "http://asterisk-a:8088")
    (contact,) = await dead.lease_contacts(campaign.id, 1, NOW)
    await dead.create_attempt(str(uuid.uuid4()), campaign, contact, "PJSIP/x")
    await pool.execute(
        "UPDATE call_attempts SET lease_expires_at = now() - interval '1s'"
    )
    alive = CallRepository(pool, "alive", 60)
    await alive.register_engine("host-b", 2, "http://asterisk-b:8088")

    taken = await alive.take_over_expired_attempts()

    assert taken == []
    assert await pool.fetchval("SELECT engine_id FROM call_attempts") == "dead"
