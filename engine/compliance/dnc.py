"""
The do-not-call list: who must not be called, for which kind of call, and why.

An entry suppresses a number for every kind of call (scope ``all``) or for one
kind. It stops suppressing when it expires or is removed (removal needs a
reason); neither deletes the row. Every change is audited in the transaction
that makes it. Adding an entry also marks the number's pending contacts in
matching campaigns ``suppressed`` at once; leased contacts are stopped by the
gate right before their originate.

Bulk lists (``outdial dnc import``) live in ``dnc_lists`` with their numbers
in sorted blocks (see ``engine.compliance.dncimport``); a number is
suppressed if a live single entry or a live list covers it, and removing it
removes its entry and excludes it from every live list that has it.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from engine.campaigns.kinds import KINDS
from engine.compliance.exceptions import DncError
from engine.db.audit import audit

log = structlog.get_logger(__name__)

SOURCES: tuple[str, ...] = ("customer_refusal", "complaint", "regulator", "manual")
ALL = "all"

_ACTIVE = (
    "removed_at IS NULL AND (expires_at IS NULL OR expires_at > {now})"
    " AND scope IN ('all', {kind})"
)
_CHECK = (
    "SELECT * FROM dnc_entries WHERE phone = $1 AND "
    + _ACTIVE.format(now="$3", kind="$2")
    + " ORDER BY scope = 'all' DESC, added_at DESC LIMIT 1"
)
# One probe per live list: the block whose first number is the greatest not
# above the number, then a scan of that block's few hundred numbers.
_LIST_CHECK = """
SELECT l.* FROM dnc_lists l
CROSS JOIN LATERAL (
    SELECT b.phones FROM dnc_list_blocks b
    WHERE b.list_id = l.id AND b.first_phone <= $1
    ORDER BY b.first_phone DESC LIMIT 1
) b
WHERE {live} $1 = ANY (b.phones)
  AND NOT EXISTS (SELECT 1 FROM dnc_list_exclusions x
                  WHERE x.list_id = l.id AND x.phone = $2)
ORDER BY l.scope = 'all' DESC, l.added_at DESC
"""
_LIVE_LIST = (
    "l.removed_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > $4)"
    " AND l.scope IN ('all', $3) AND"
)
_UPSERT = """
INSERT INTO dnc_entries (phone, scope, source, reason, added_by, added_at,
    expires_at, attempt_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (phone, scope) WHERE removed_at IS NULL DO UPDATE SET
    source = EXCLUDED.source, reason = EXCLUDED.reason,
    added_by = EXCLUDED.added_by, added_at = EXCLUDED.added_at,
    attempt_id = EXCLUDED.attempt_id,
    -- A live entry is only ever lengthened by a new one; an expired one is
    -- replaced.
    expires_at = CASE
        WHEN dnc_entries.expires_at IS NOT NULL
             AND dnc_entries.expires_at <= EXCLUDED.added_at
            THEN EXCLUDED.expires_at
        WHEN dnc_entries.expires_at IS NULL OR EXCLUDED.expires_at IS NULL
            THEN NULL
        ELSE greatest(dnc_entries.expires_at, EXCLUDED.expires_at) END
RETURNING *, (xmax = 0) AS inserted
"""
# Pending contacts of campaigns the entries apply to become suppressed, each
# with an audit row naming the entry that stopped it.
SUPPRESS_PENDING = """
WITH hit AS (
    UPDATE contacts c SET state = 'suppressed',
        state_reason = 'dnc:' || d.source || ':' || d.scope, updated_at = now()
    FROM campaigns k, dnc_entries d
    WHERE k.id = c.campaign_id AND c.state = 'pending' AND d.phone = c.phone
      AND {where} AND d.removed_at IS NULL
      AND (d.expires_at IS NULL OR d.expires_at > $1)
      AND d.scope IN ('all', k.kind)
    RETURNING c.id, c.campaign_id, d.id AS entry_id, d.source, d.scope
)
INSERT INTO audit_log (actor, action, object_type, object_id, details)
SELECT $2, 'contact_suppressed', 'contact', hit.id::text,
    jsonb_build_object('campaign_id', hit.campaign_id, 'dnc_entry_id',
        hit.entry_id, 'source', hit.source, 'scope', hit.scope)
FROM hit
"""


@dataclass(frozen=True)
class DncEntry:
    """One suppression, live or not."""

    id: int
    phone: str
    scope: str
    source: str
    reason: str
    added_by: str
    added_at: datetime
    expires_at: datetime | None
    removed_at: datetime | None = None
    removed_by: str | None = None
    removal_reason: str | None = None
    list_id: int | None = None

    @classmethod
    def from_row(cls, row: Any) -> "DncEntry":
        """Build from a ``dnc_entries`` row."""
        return cls(**{f: row.get(f) for f in cls.__dataclass_fields__})

    @classmethod
    def from_list(cls, row: Any, phone: str) -> "DncEntry":
        """Build from a ``dnc_lists`` row, for one number on the list."""
        fields = {f: row.get(f) for f in cls.__dataclass_fields__}

        return cls(**{**fields, "phone": phone, "list_id": row["id"]})

    def describe(self) -> str:
        """One line for people: source, scope, reason and expiry."""
        text = f"{self.source} ({self.scope})"
        if self.list_id is not None:
            text = f"list {self.list_id}, {text}"
        if self.reason:
            text += f": {self.reason}"
        if self.expires_at is not None:
            text += f", until {self.expires_at.isoformat()}"

        return text


def check_scope(scope: str) -> str:
    """Return ``scope`` if it is ``all`` or a kind of call, else raise."""
    scope = scope.strip().lower().replace("-", "_")
    if scope != ALL and scope not in KINDS:
        raise DncError(
            f"scope {scope!r} is neither 'all' nor a kind of call ({', '.join(KINDS)})"
        )

    return scope


def check_source(source: str) -> str:
    """Return ``source`` if it is a known source, else raise."""
    if source not in SOURCES:
        raise DncError(f"source {source!r} is not one of {', '.join(SOURCES)}")

    return source


async def find_active(
    conn: asyncpg.Connection | asyncpg.Pool, phone: str, kind: str, now: datetime
) -> DncEntry | None:
    """The live entry or list that suppresses ``phone`` for ``kind`` at ``now``."""
    row = await conn.fetchrow(_CHECK, phone, kind, now)
    if row is not None:
        return DncEntry.from_row(row)
    listed = await conn.fetchrow(
        _LIST_CHECK.format(live=_LIVE_LIST) + " LIMIT 1",
        _digits(phone),
        phone,
        kind,
        now,
    )

    return None if listed is None else DncEntry.from_list(listed, phone)


def _digits(phone: str) -> int:
    """E.164 text as the bigint the list blocks hold."""
    if not (phone.startswith("+") and phone[1:].isdigit()):
        raise DncError(f"{phone!r} is not an E.164 phone number")
    return int(phone[1:])


async def history(
    conn: asyncpg.Connection | asyncpg.Pool, phone: str
) -> list[DncEntry]:
    """Every entry and list that ever covered a number, newest first."""
    rows = await conn.fetch(
        "SELECT * FROM dnc_entries WHERE phone = $1 ORDER BY added_at DESC, id DESC",
        phone,
    )
    lists = await conn.fetch(_LIST_HISTORY, _digits(phone), phone)
    found = [DncEntry.from_row(r) for r in rows]
    found += [_listed(r, phone) for r in lists]

    return sorted(found, key=lambda e: e.added_at, reverse=True)


_LIST_HISTORY = """
SELECT l.*, x.removed_at AS x_removed_at, x.removed_by AS x_removed_by,
    x.removal_reason AS x_removal_reason
FROM dnc_lists l
CROSS JOIN LATERAL (
    SELECT b.phones FROM dnc_list_blocks b
    WHERE b.list_id = l.id AND b.first_phone <= $1
    ORDER BY b.first_phone DESC LIMIT 1
) b
LEFT JOIN dnc_list_exclusions x ON x.list_id = l.id AND x.phone = $2
WHERE $1 = ANY (b.phones)
"""


def _listed(row: Any, phone: str) -> DncEntry:
    entry = DncEntry.from_list(row, phone)
    if entry.removed_at is None and row["x_removed_at"] is not None:
        return replace(
            entry,
            removed_at=row["x_removed_at"],
            removed_by=row["x_removed_by"],
            removal_reason=row["x_removal_reason"],
        )

    return entry


async def add_entry(
    conn: asyncpg.Connection,
    phone: str,
    *,
    scope: str,
    source: str,
    reason: str,
    actor: str,
    now: datetime,
    expires_at: datetime | None = None,
    attempt_id: str | None = None,
) -> DncEntry:
    """Suppress a number (or lengthen its entry), audited, in one transaction."""
    scope, source = check_scope(scope), check_source(source)
    if expires_at is not None and expires_at <= now:
        raise DncError("expiry must be in the future")
    async with conn.transaction():
        try:
            row = await conn.fetchrow(
                _UPSERT,
                phone,
                scope,
                source,
                reason,
                actor,
                now,
                expires_at,
                attempt_id,
            )
        except asyncpg.CheckViolationError:
            raise DncError(f"{phone!r} is not an E.164 phone number") from None
        entry = DncEntry.from_row(row)
        await audit(
            conn,
            actor,
            "dnc_added" if row["inserted"] else "dnc_renewed",
            "dnc_entry",
            entry.id,
            scope=scope,
            source=source,
            reason=reason,
            expires_at=None
            if entry.expires_at is None
            else entry.expires_at.isoformat(),
            attempt_id=attempt_id,
        )
        await conn.execute(
            SUPPRESS_PENDING.format(where="d.id = $3"), now, actor, entry.id
        )
    log.info("dnc_entry_added", dnc_entry_id=entry.id, scope=scope, source=source)

    return entry


async def remove_entry(
    conn: asyncpg.Connection, phone: str, *, scope: str, actor: str, reason: str
) -> list[DncEntry]:
    """
    Stop a number being suppressed for ``scope``: its live entry is marked
    removed and it is excluded from every live list of that scope holding
    it. The reason is required; each change is audited. Returns what stopped.
    """
    scope = check_scope(scope)
    if not reason.strip():
        raise DncError("removing a do-not-call entry needs a reason")
    async with conn.transaction():
        row = await conn.fetchrow(
            "UPDATE dnc_entries SET removed_at = now(), removed_by = $3,"
            " removal_reason = $4 WHERE phone = $1 AND scope = $2"
            " AND removed_at IS NULL RETURNING *",
            phone,
            scope,
            actor,
            reason.strip(),
        )
        removed = [] if row is None else [DncEntry.from_row(row)]
        for entry in removed:
            await audit(
                conn,
                actor,
                "dnc_removed",
                "dnc_entry",
                entry.id,
                scope=scope,
                reason=reason,
            )
        removed += await _exclude_from_lists(conn, phone, scope, actor, reason.strip())
        if not removed:
            raise DncError(f"no do-not-call entry for that number with scope {scope}")
    log.info("dnc_entry_removed", removed=len(removed), scope=scope)

    return removed


async def _exclude_from_lists(
    conn: asyncpg.Connection, phone: str, scope: str, actor: str, reason: str
) -> list[DncEntry]:
    lists = await conn.fetch(
        _LIST_CHECK.replace("{live}", "l.removed_at IS NULL AND l.scope = $3 AND"),
        _digits(phone),
        phone,
        scope,
    )
    for listed in lists:
        await conn.execute(
            "INSERT INTO dnc_list_exclusions (list_id, phone, removed_by,"
            " removal_reason) VALUES ($1, $2, $3, $4)",
            listed["id"],
            phone,
            actor,
            reason,
        )
        await audit(
            conn,
            actor,
            "dnc_list_number_removed",
            "dnc_list",
            listed["id"],
            phone=phone,
            scope=scope,
            reason=reason,
        )

    return [DncEntry.from_list(r, phone) for r in lists]


async def record_refusal(
    conn: asyncpg.Connection,
    phone: str,
    kind: str,
    actor: str,
    attempt_id: str | None,
    *,
    now: datetime | None = None,
    reason: str = "customer refused further calls",
) -> DncEntry:
    """
    Record a customer's refusal heard on a call: no more calls of that kind.

    Commits before returning (when ``conn`` is not already inside a caller's
    transaction), so the operator desktop acknowledges only a durable refusal.
    """
    when = now
    if when is None:
        when = await conn.fetchval("SELECT now()")

    return await add_entry(
        conn,
        phone,
        scope=kind,
        source="customer_refusal",
        reason=reason,
        actor=actor,
        now=when,
        attempt_id=attempt_id,
    )


async def suppress_contacts(
    conn: asyncpg.Connection, campaign_id: int, now: datetime, actor: str
) -> int:
    """Mark a campaign's pending contacts on the list suppressed; return how many."""
    done = await conn.execute(
        SUPPRESS_PENDING.format(where="c.campaign_id = $3"), now, actor, campaign_id
    )

    return int(done.rsplit(" ", 1)[1])
