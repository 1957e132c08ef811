"""
Campaigns in Postgres: create, read, list, change state, count progress.

Every change is written to the audit log in the same transaction as the change,
and a state change also sends ``NOTIFY outdial_campaign, '<id>:<state>'`` in
that transaction, so a listening engine hears of it exactly when it commits.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import structlog

from engine.campaigns.exceptions import (
    CampaignExistsError,
    CampaignNotFoundError,
    IllegalTransitionError,
    InvalidCampaignError,
)
from engine.campaigns.models import (
    TRANSITIONS,
    Campaign,
    CampaignSpec,
    CampaignState,
    Progress,
)
from engine.campaigns.notify import CHANNEL
from engine.db.audit import audit

log = structlog.get_logger(__name__)

Executor = asyncpg.Connection | asyncpg.Pool

_INSERT = """
INSERT INTO campaigns (name, kind, caller_id, max_concurrent, calls_per_second,
    ring_timeout_s, max_attempts, retry_delays, timezone, default_region,
    settings, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $10, $11::text::jsonb, $12)
RETURNING *
"""


async def create_campaign(pool: Executor, spec: CampaignSpec, actor: str) -> Campaign:
    """Store a new draft campaign and audit it; the name must be free."""
    async with acquire(pool) as conn, conn.transaction():
        try:
            row = await conn.fetchrow(
                _INSERT,
                spec.name,
                str(spec.kind),
                spec.caller_id,
                spec.max_concurrent,
                spec.calls_per_second,
                spec.ring_timeout_s,
                spec.retry.max_attempts,
                json.dumps(dict(spec.retry.delays)),
                spec.timezone,
                spec.default_region,
                json.dumps(dict(spec.settings)),
                actor,
            )
        except asyncpg.UniqueViolationError:
            raise CampaignExistsError(spec.name) from None
        except asyncpg.CheckViolationError as exc:
            raise InvalidCampaignError(
                f"campaign refused by the database: {exc}"
            ) from None
        campaign = Campaign.from_row(row)
        await audit(
            conn,
            actor,
            "campaign_created",
            "campaign",
            campaign.id,
            **_summary(campaign),
        )
    log.info("campaign_created", campaign_id=campaign.id, kind=str(campaign.kind))

    return campaign


def _summary(campaign: Campaign) -> dict[str, Any]:
    return {
        "name": campaign.name,
        "kind": str(campaign.kind),
        "caller_id": campaign.caller_id,
        "max_concurrent": campaign.max_concurrent,
        "calls_per_second": str(campaign.calls_per_second),
        "ring_timeout_s": campaign.ring_timeout_s,
        "max_attempts": campaign.retry.max_attempts,
        "retry_delays": dict(campaign.retry.delays),
        "timezone": campaign.timezone,
        "default_region": campaign.default_region,
    }


async def get_campaign(
    conn: Executor, ref: str | int, *, lock: bool = False
) -> Campaign:
    """
    The campaign with this id or name (a string of digits is tried as an id
    first, then as a name). ``lock`` takes a row lock: use inside a transaction.
    """
    suffix = " FOR UPDATE" if lock else ""
    row = None
    if isinstance(ref, int) or ref.isdigit():
        row = await conn.fetchrow(
            f"SELECT * FROM campaigns WHERE id = $1{suffix}", int(ref)
        )
    if row is None and isinstance(ref, str):
        row = await conn.fetchrow(
            f"SELECT * FROM campaigns WHERE name = $1{suffix}", ref
        )
    if row is None:
        raise CampaignNotFoundError(ref)

    return Campaign.from_row(row)


async def list_campaigns(
    conn: Executor, *, states: tuple[CampaignState, ...] | None = None
) -> list[Campaign]:
    """Every campaign (or those in ``states``), oldest first."""
    if states is None:
        rows = await conn.fetch("SELECT * FROM campaigns ORDER BY id")
    else:
        rows = await conn.fetch(
            "SELECT * FROM campaigns WHERE state = ANY($1::text[]) ORDER BY id",
            [str(s) for s in states],
        )

    return [Campaign.from_row(r) for r in rows]


async def contact_totals(conn: Executor) -> dict[int, tuple[int, int]]:
    """Per campaign id: (contacts, contacts still to call)."""
    rows = await conn.fetch(
        "SELECT campaign_id, count(*) AS total,"
        " count(*) FILTER (WHERE state IN ('pending', 'leased')) AS open"
        " FROM contacts GROUP BY campaign_id"
    )

    return {r["campaign_id"]: (r["total"], r["open"]) for r in rows}


async def change_state(
    pool: Executor, ref: str | int, action: str, actor: str, reason: str | None = None
) -> Campaign:
    """
    Apply ``action`` (start, pause, resume, stop, finish) to a campaign.

    Refuses a move the current state does not allow with IllegalTransitionError.
    The update, its audit row and the NOTIFY commit together.
    """
    if action not in TRANSITIONS:
        raise InvalidCampaignError(f"unknown campaign action {action!r}")
    allowed, target = TRANSITIONS[action]

    async with acquire(pool) as conn, conn.transaction():
        campaign = await get_campaign(conn, ref, lock=True)
        await _check_transition(conn, campaign, action, allowed)
        row = await _write_state(conn, campaign, action, target, actor, reason)
    log.info(
        "campaign_state_changed",
        campaign_id=campaign.id,
        action=action,
        state=str(target),
    )

    return Campaign.from_row(row)


async def _check_transition(
    conn: asyncpg.Connection,
    campaign: Campaign,
    action: str,
    allowed: frozenset[CampaignState],
) -> None:
    """Refuse a move the state does not allow, or a start compliance forbids."""
    if campaign.state not in allowed:
        raise IllegalTransitionError(
            campaign.name, action, campaign.state, " or ".join(sorted(allowed))
        )
    if action in ("start", "resume"):
        # Compliance: an unapproved caller id or a bad window stops it here.
        from engine.compliance.callerids import check_campaign_can_start

        await check_campaign_can_start(conn, campaign)


async def _write_state(
    conn: asyncpg.Connection,
    campaign: Campaign,
    action: str,
    target: CampaignState,
    actor: str,
    reason: str | None,
) -> asyncpg.Record:
    """Update the row, audit the change and NOTIFY engines, in the caller's tx."""
    row = await conn.fetchrow(
        "UPDATE campaigns SET state = $2, state_reason = $3, updated_at = now()"
        " WHERE id = $1 RETURNING *",
        campaign.id,
        str(target),
        reason,
    )
    await audit(
        conn,
        actor,
        f"campaign_{action}",
        "campaign",
        campaign.id,
        before=str(campaign.state),
        after=str(target),
        reason=reason,
    )
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{campaign.id}:{target}")

    return row


# One statement, so that the three counts come from one snapshot.
_PROGRESS = """
SELECT
    (SELECT coalesce(json_object_agg(state, n), '{}')::text FROM (
        SELECT state, count(*) AS n FROM contacts WHERE campaign_id = $1
        GROUP BY state) c) AS contacts,
    (SELECT coalesce(json_object_agg(outcome, n), '{}')::text FROM (
        SELECT outcome, count(*) AS n FROM call_attempts
        WHERE campaign_id = $1 AND outcome IS NOT NULL GROUP BY outcome) o) AS outcomes,
    (SELECT count(*) FROM call_attempts
        WHERE campaign_id = $1 AND state <> 'ended') AS in_progress
"""


async def campaign_progress(pool: Executor, ref: str | int) -> Progress:
    """Counts of contacts by state, attempts by outcome and calls in progress."""
    async with acquire(pool) as conn:
        campaign = await get_campaign(conn, ref)
        row = await conn.fetchrow(_PROGRESS, campaign.id)

    return Progress(
        campaign=campaign,
        contacts=json.loads(row["contacts"]),
        outcomes=json.loads(row["outcomes"]),
        in_progress=row["in_progress"],
    )


@asynccontextmanager
async def acquire(source: Executor) -> AsyncIterator[asyncpg.Connection]:
    """Use a given connection as is, or borrow one from a pool."""
    if isinstance(source, asyncpg.Pool):
        async with source.acquire() as conn:
            yield conn
    else:
        yield source
