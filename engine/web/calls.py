"""
An operator's own calls as the desktop shows them, read from the operators'
tables (``operator_calls``, ``dispositions``) and the core schema.

Every query is scoped by the operator's id: a call that is not theirs is
refused with ``ApiError`` 403 (404 when no such call exists), so the desktop
can never show or change another operator's customer. Customer name and
number stay masked until the operator records that the script's identity
check passed; the unmasked read is audited each time.
"""

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog

from engine.db.audit import audit
from engine.logging import mask_digits, mask_name
from engine.web.exceptions import ApiError

log = structlog.get_logger(__name__)

_CALL_COLUMNS = """
    oc.call_id, oc.campaign_id, oc.operator_id, oc.identity_verified,
    oc.bridged_at, oc.ended_at, a.answered_at, a.ended_at AS call_ended_at,
    c.name AS campaign_name, c.kind, c.timezone, k.name AS customer_name, k.phone,
    d.outcome AS disposition
"""
_CALL_FROM = """
FROM operator_calls oc
JOIN call_attempts a ON a.id = oc.call_id
JOIN campaigns c ON c.id = oc.campaign_id
JOIN contacts k ON k.id = oc.contact_id
LEFT JOIN dispositions d ON d.call_id = oc.call_id
"""


def masked_phone(phone: str) -> str:
    """A number with only its first and last digits showing."""
    return "+" + mask_digits(phone.lstrip("+"))


def call_view(row: asyncpg.Record, *, reveal: bool = False) -> dict[str, Any]:
    """The JSON shape of one call; customer data masked unless ``reveal``."""
    name = row["customer_name"] or ""

    return {
        "id": row["call_id"],
        "campaign": {
            "id": row["campaign_id"],
            "name": row["campaign_name"],
            "kind": row["kind"],
            "timezone": row["timezone"],
        },
        "customer": {
            "name": name if reveal else mask_name(name),
            "phone": row["phone"] if reveal else masked_phone(row["phone"]),
            "masked": not reveal,
        },
        "identity_verified": row["identity_verified"],
        "answered_at": _iso(row["answered_at"]),
        "bridged_at": _iso(row["bridged_at"]),
        "ended_at": _iso(row["call_ended_at"] or row["ended_at"]),
        "disposition": row["disposition"],
    }


async def current_call(
    pool: asyncpg.Pool, operator_id: str, call_id: str | None
) -> asyncpg.Record | None:
    """The call the desktop shows: the session's call, else the newest not disposed."""
    return await pool.fetchrow(
        f"SELECT {_CALL_COLUMNS} {_CALL_FROM}"
        " WHERE oc.operator_id = $1 AND (oc.call_id = $2 OR d.id IS NULL)"
        " ORDER BY (oc.call_id = $2) DESC NULLS LAST, oc.bridged_at DESC LIMIT 1",
        operator_id,
        call_id,
    )


async def own_call(
    conn: asyncpg.Connection | asyncpg.Pool, operator_id: str, call_id: str
) -> asyncpg.Record:
    """One call of this operator, or ApiError 404 (none) / 403 (someone else's)."""
    row = await conn.fetchrow(
        f"SELECT {_CALL_COLUMNS} {_CALL_FROM} WHERE oc.call_id = $1", call_id
    )
    if row is None:
        raise ApiError(404, "call_not_found", f"no call {call_id}")
    if row["operator_id"] != operator_id:
        log.warning("call_access_refused", operator_id=operator_id, call_id=call_id)
        raise ApiError(403, "not_your_call", f"call {call_id} is not one of yours")

    return row


async def record_identity_check(
    pool: asyncpg.Pool, operator_id: str, call_id: str, verified: bool
) -> None:
    """Store the identity check's result on the call, audited."""
    async with pool.acquire() as conn, conn.transaction():
        row = await own_call(conn, operator_id, call_id)
        if row["disposition"] is not None:
            raise ApiError(409, "call_disposed", f"call {call_id} is already closed")
        await conn.execute(
            "UPDATE operator_calls SET identity_verified = $2 WHERE call_id = $1",
            call_id,
            verified,
        )
        action = (
            "customer_identity_verified" if verified else "customer_identity_failed"
        )
        await audit(conn, operator_id, action, "call", call_id)
    log.info("identity_check_recorded", call_id=call_id, verified=verified)


async def reveal_customer(
    pool: asyncpg.Pool, operator_id: str, call_id: str
) -> dict[str, Any]:
    """The call with the customer unmasked, once identity is verified; audited."""
    async with pool.acquire() as conn, conn.transaction():
        row = await own_call(conn, operator_id, call_id)
        if not row["identity_verified"]:
            raise ApiError(
                409, "identity_not_verified", "verify the customer's identity first"
            )
        await audit(conn, operator_id, "customer_data_viewed", "call", call_id)

    return call_view(row, reveal=True)


async def recent_calls(
    pool: asyncpg.Pool, operator_id: str, limit: int = 15
) -> list[dict[str, Any]]:
    """The operator's latest calls, masked."""
    rows = await pool.fetch(
        f"SELECT {_CALL_COLUMNS} {_CALL_FROM} WHERE oc.operator_id = $1"
        " ORDER BY oc.bridged_at DESC LIMIT $2",
        operator_id,
        limit,
    )

    return [call_view(r) for r in rows]


async def own_statistics(
    pool: asyncpg.Pool, operator_id: str, now: datetime
) -> dict[str, Any]:
    """Today's figures (since 00:00 UTC) for this operator only."""
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    row = await pool.fetchrow(
        "SELECT count(*) AS calls,"
        " count(d.id) AS dispositions,"
        " coalesce(avg(extract(epoch FROM coalesce(oc.ended_at, a.ended_at)"
        "   - oc.bridged_at)), 0)::float AS avg_talk_s,"
        " count(*) FILTER (WHERE d.complaint) AS complaints,"
        " count(*) FILTER (WHERE d.callback_at IS NOT NULL) AS callbacks"
        " FROM operator_calls oc JOIN call_attempts a ON a.id = oc.call_id"
        " LEFT JOIN dispositions d ON d.call_id = oc.call_id"
        " WHERE oc.operator_id = $1 AND oc.bridged_at >= $2",
        operator_id,
        since,
    )
    outcomes = await pool.fetch(
        "SELECT outcome, count(*) AS n FROM dispositions"
        " WHERE operator_id = $1 AND created_at >= $2 GROUP BY outcome ORDER BY n DESC",
        operator_id,
        since,
    )
    stats = dict(row) | {"since": _iso(since)}
    stats["avg_talk_s"] = round(stats["avg_talk_s"], 1)
    stats["outcomes"] = {r["outcome"]: r["n"] for r in outcomes}

    return stats


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def seconds_until(when: datetime | None, now: datetime) -> float | None:
    """Seconds from ``now`` to ``when`` (never negative), or None."""
    if when is None:
        return None

    return max((when - now) / timedelta(seconds=1), 0.0)
