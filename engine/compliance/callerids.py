"""
The institution's approved caller ids, and the check a campaign start makes.

A campaign must present one of these numbers or it cannot start; the gate
also refuses every originate whose campaign's caller id is not (or no longer)
approved. Revoking keeps the row, with who and why, for the audit trail.
"""

import re
from typing import Any

import asyncpg

from engine.compliance.exceptions import CallerIdNotApprovedError, ComplianceError
from engine.compliance.windows import effective_window
from engine.db.audit import audit
from engine.settings import get_settings

_CALLER_ID_RE = re.compile(r"^\+?[0-9]{3,15}$")


def check_caller_id(caller_id: str) -> str:
    """Return the caller id stripped, or raise if it is not a number."""
    value = caller_id.strip()
    if not _CALLER_ID_RE.match(value):
        raise ComplianceError(
            f"caller id {caller_id!r} is not a number (3 to 15 digits, optional +)"
        )

    return value


async def approve(
    conn: asyncpg.Connection, caller_id: str, *, label: str, actor: str
) -> None:
    """Approve a caller id (again, if it was revoked), audited."""
    value = check_caller_id(caller_id)
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO approved_caller_ids (caller_id, label, added_by)"
            " VALUES ($1, $2, $3) ON CONFLICT (caller_id) DO UPDATE SET"
            " label = $2, added_by = $3, added_at = now(), revoked_at = NULL,"
            " revoked_by = NULL, revoke_reason = NULL",
            value,
            label,
            actor,
        )
        await audit(conn, actor, "caller_id_approved", "caller_id", value, label=label)


async def revoke(
    conn: asyncpg.Connection, caller_id: str, *, reason: str, actor: str
) -> None:
    """Withdraw an approval; running campaigns using it stop dialling at once."""
    if not reason.strip():
        raise ComplianceError("revoking a caller id needs a reason")
    value = check_caller_id(caller_id)
    async with conn.transaction():
        done = await conn.execute(
            "UPDATE approved_caller_ids SET revoked_at = now(), revoked_by = $2,"
            " revoke_reason = $3 WHERE caller_id = $1 AND revoked_at IS NULL",
            value,
            actor,
            reason.strip(),
        )
        if done.endswith(" 0"):
            raise CallerIdNotApprovedError(value)
        await audit(conn, actor, "caller_id_revoked", "caller_id", value, reason=reason)


async def is_approved(conn: asyncpg.Connection | asyncpg.Pool, caller_id: str) -> bool:
    """True if the caller id is approved and not revoked."""
    found = await conn.fetchval(
        "SELECT true FROM approved_caller_ids WHERE caller_id = $1"
        " AND revoked_at IS NULL",
        caller_id.strip(),
    )

    return bool(found)


async def list_caller_ids(
    conn: asyncpg.Connection | asyncpg.Pool,
) -> list[asyncpg.Record]:
    """Every caller id ever approved, live ones first."""
    return await conn.fetch(
        "SELECT * FROM approved_caller_ids ORDER BY revoked_at IS NOT NULL, caller_id"
    )


async def check_campaign_can_start(conn: asyncpg.Connection, campaign: Any) -> None:
    """
    Raise if a campaign may not start: unapproved caller id or a bad window.

    ``campaign`` is any object with ``caller_id``, ``kind`` and ``settings``
    (the campaigns or the dialer model).
    """
    if not await is_approved(conn, campaign.caller_id):
        raise CallerIdNotApprovedError(campaign.caller_id)
    settings = dict(campaign.settings or {})
    effective_window(
        str(campaign.kind),
        settings.get("calling_window"),
        get_settings().calling_windows,
    )
