"""
Callbacks promised to customers: a due time and, optionally, an operator.

Scheduling a callback puts its contact back in the queue with
``next_attempt_at`` at the due time (or, if its call is still up, a trigger
does so when the dialer closes it), so the dialer's ordinary lease picks it
up; the gate still checks window and suppression at that moment (a callback
due at night rings at the next opening) but lets it past the campaign's
attempt limit and retry delay, since the customer asked for it. The gate marks
the callback done when its call is originated.
"""

from datetime import datetime

import asyncpg

from engine.compliance.exceptions import ComplianceError
from engine.db.audit import audit


async def schedule_callback(
    conn: asyncpg.Connection,
    contact_id: int,
    due_at: datetime,
    *,
    actor: str,
    operator: str | None = None,
    note: str = "",
) -> int:
    """Promise a call back at ``due_at``; replaces the contact's pending one."""
    async with conn.transaction():
        campaign_id = await _lock_contact(conn, contact_id)
        await conn.execute(
            "UPDATE callbacks SET state = 'cancelled', closed_at = now()"
            " WHERE contact_id = $1 AND state = 'pending'",
            contact_id,
        )
        callback_id: int = await conn.fetchval(
            "INSERT INTO callbacks (campaign_id, contact_id, due_at, operator, note,"
            " created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            campaign_id,
            contact_id,
            due_at,
            operator,
            note,
            actor,
        )
        # A leased contact (a callback promised during its call) keeps its
        # lease; when the dialer closes it, the trigger of migration 0008
        # puts it back in the queue for the due time.
        await conn.execute(
            "UPDATE contacts SET state = 'pending', next_attempt_at = $2,"
            " state_reason = 'callback', updated_at = now()"
            " WHERE id = $1 AND state <> 'leased'",
            contact_id,
            due_at,
        )
        await audit(
            conn,
            actor,
            "callback_scheduled",
            "callback",
            callback_id,
            contact_id=contact_id,
            due_at=due_at.isoformat(),
            operator=operator,
        )

    return callback_id


async def _lock_contact(conn: asyncpg.Connection, contact_id: int) -> int:
    """Lock a contact that may be called back; return its campaign id."""
    contact = await conn.fetchrow(
        "SELECT campaign_id, state FROM contacts WHERE id = $1 FOR UPDATE", contact_id
    )
    if contact is None:
        raise ComplianceError(f"no contact with id {contact_id}")
    if contact["state"] in ("suppressed", "cancelled"):
        raise ComplianceError(
            f"contact {contact_id} is {contact['state']}; it cannot be called back"
        )
    campaign_id: int = contact["campaign_id"]

    return campaign_id


async def cancel_callback(
    conn: asyncpg.Connection, callback_id: int, *, actor: str
) -> None:
    """Withdraw a pending callback, audited."""
    async with conn.transaction():
        done = await conn.execute(
            "UPDATE callbacks SET state = 'cancelled', closed_at = now()"
            " WHERE id = $1 AND state = 'pending'",
            callback_id,
        )
        if done.endswith(" 0"):
            raise ComplianceError(f"no pending callback with id {callback_id}")
        await audit(conn, actor, "callback_cancelled", "callback", callback_id)


async def pending_callback(
    conn: asyncpg.Connection | asyncpg.Pool, contact_id: int
) -> asyncpg.Record | None:
    """The contact's pending callback, if any."""
    return await conn.fetchrow(
        "SELECT * FROM callbacks WHERE contact_id = $1 AND state = 'pending'",
        contact_id,
    )


async def due_callbacks(
    conn: asyncpg.Connection | asyncpg.Pool,
    campaign_id: int,
    now: datetime,
    limit: int = 100,
) -> list[asyncpg.Record]:
    """Pending callbacks of a campaign due by ``now``, oldest first."""
    return await conn.fetch(
        "SELECT * FROM callbacks WHERE campaign_id = $1 AND state = 'pending'"
        " AND due_at <= $2 ORDER BY due_at, id LIMIT $3",
        campaign_id,
        now,
        limit,
    )
