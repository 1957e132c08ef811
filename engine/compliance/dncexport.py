"""
Exporting the do-not-call list as CSV: who may, what the file holds, the audit.

A DNC export is a compliance artefact exchanged with regulators and carriers,
so numbers are written unmasked. An actor who has an operator account must be
a director or an admin (operators and locked accounts are refused); an actor
with no account is a person at the engine's own shell, trusted like every
other ``outdial dnc`` command. Every export is audited (``dnc_exported``) with
the actor, their role, the reason given, the rows written and the destination,
in the same transaction as the read; if the audit cannot be written the file
is deleted. A refused attempt is audited too (``dnc_export_refused``).

Cells a spreadsheet would run as a formula (text starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return; ``engine.reports.formula.TRIGGERS``)
get a leading apostrophe, computed in SQL so the export stays a single COPY.
The phone column is the exception by design: an E.164 number always starts
with "+", and a cell that is "+" followed by digits only is evaluated by a
spreadsheet as that same number, never as a formula, so it is written as is:
regulators' tools and ``outdial dnc import`` read it back unchanged. Only a
phone that is not strictly "+digits" (which the table's checks do not allow)
would be quoted like text.
"""

from datetime import datetime
from pathlib import Path

import asyncpg

from engine.compliance.exceptions import DncExportDeniedError
from engine.db.audit import audit
from engine.reports.formula import TRIGGERS

EXPORT_ROLES = ("director", "admin")
_E164 = r"^\+[0-9]{1,15}$"


def _inert(column: str) -> str:
    """SQL for a text column with formula triggers prefix-quoted ($1: triggers)."""
    quote = "''''"  # SQL for a one-apostrophe string
    return f"CASE WHEN left({column}, 1) = ANY($1) THEN {quote} || {column}" + (
        f" ELSE {column} END"
    )


def _phone(column: str) -> str:
    """SQL for the phone column: E.164 as is, anything else inert like text."""
    return f"CASE WHEN {column} ~ '{_E164}' THEN {column} ELSE {_inert(column)} END"


async def exporter_role(conn: asyncpg.Connection, actor: str) -> str | None:
    """
    The actor's role if they may export; None when they have no account.

    Raises ``DncExportDeniedError`` for an operator or a locked account.
    """
    row = await conn.fetchrow(
        "SELECT role, locked_at FROM operators WHERE id = $1", actor
    )
    if row is None:
        return None
    if row["locked_at"] is not None:
        raise DncExportDeniedError(actor, "account locked")
    if row["role"] not in EXPORT_ROLES:
        raise DncExportDeniedError(
            actor, f"role {row['role']!r} is not one of {', '.join(EXPORT_ROLES)}"
        )

    return str(row["role"])


def _query(everything: bool) -> str:
    live_entry = (
        ""
        if everything
        else "WHERE removed_at IS NULL AND (expires_at IS NULL OR expires_at > $2)"
    )
    live_list = (
        ""
        if everything
        else "WHERE l.removed_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > $2)"
        " AND NOT EXISTS (SELECT 1 FROM dnc_list_exclusions x"
        "   WHERE x.list_id = l.id AND x.phone = '+' || p.phone)"
    )
    texts = ", ".join(
        f"{_inert(c)} AS {c}" for c in ("scope", "source", "reason", "added_by")
    )

    return f"""
        SELECT {_phone("phone")} AS phone, {texts}, added_at, expires_at,
            removed_at, list_id
        FROM (
            SELECT phone, scope, source, reason, added_by, added_at, expires_at,
                removed_at, NULL::bigint AS list_id FROM dnc_entries {live_entry}
            UNION ALL
            SELECT '+' || p.phone, l.scope, l.source, l.reason, l.added_by,
                l.added_at, l.expires_at, l.removed_at, l.id
            FROM dnc_lists l JOIN dnc_list_blocks b ON b.list_id = l.id
            CROSS JOIN LATERAL unnest(b.phones) AS p(phone) {live_list}
        ) AS rows
    """


async def export_csv(
    conn: asyncpg.Connection, path: Path, *, now: datetime, everything: bool = False
) -> int:
    """
    Write single entries and listed numbers as CSV (``list_id`` empty for a
    single entry); live ones only unless ``everything``. Returns the rows.
    """
    args: tuple[object, ...] = (
        (list(TRIGGERS),) if everything else (list(TRIGGERS), now)
    )
    status = await conn.copy_from_query(
        _query(everything), *args, output=str(path), format="csv", header=True
    )

    return int(status.rsplit(" ", 1)[1])


async def export_audited(
    conn: asyncpg.Connection,
    path: Path,
    *,
    actor: str,
    reason: str,
    now: datetime,
    everything: bool = False,
) -> int:
    """Check the actor may export, write the CSV and audit it; return the rows."""
    try:
        role = await exporter_role(conn, actor)
    except DncExportDeniedError as exc:
        await audit(
            conn,
            actor,
            "dnc_export_refused",
            "dnc_export",
            path.name,
            why=exc.why,
            reason=reason,
            destination=str(path),
        )
        raise
    async with conn.transaction():
        rows = await export_csv(conn, path, now=now, everything=everything)
        try:
            await audit(
                conn,
                actor,
                "dnc_exported",
                "dnc_export",
                path.name,
                role=role,
                reason=reason,
                rows=rows,
                destination=str(path),
                everything=everything,
                at=now.isoformat(),
            )
        except BaseException:
            # Blocking on purpose: one local unlink that must finish even when
            # the task is being cancelled, so no unaudited export is left.
            path.unlink(missing_ok=True)  # noqa: ASYNC240
            raise

    return rows
