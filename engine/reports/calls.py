"""
The call list of a campaign: one row per ended attempt, with customer fields.

This is the part of a report that carries customer data, so callers mask it
(``masking.mask_record``) unless an unmasked export was allowed and audited.
"""

from typing import Any

import asyncpg

from engine.reports.masking import mask_record
from engine.reports.stats import Scope

BASE_COLUMNS = (
    "attempt_id",
    "started",
    "phone",
    "name",
    "outcome",
    "talk_s",
    "operator",
    "team",
    "disposition",
    "notes",
)
# Columns holding customer data, masked in every export; every contact field
# (``contacts.fields``) is customer data too.
CUSTOMER_COLUMNS = frozenset({"phone", "name", "notes"})


async def call_rows(
    conn: asyncpg.Connection,
    campaign_id: int,
    timezone: str,
    scope: Scope,
    *,
    limit: int | None = None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and rows of a campaign's ended calls, oldest first."""
    filters, args = _scope_filter(scope)
    rows = await conn.fetch(
        f"""
        SELECT a.id AS attempt_id,
               to_char(a.created_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI:SS') AS started,
               a.phone, c.name, a.outcome,
               round(extract(epoch FROM a.ended_at - a.answered_at)::numeric, 1)::float8
                   AS talk_s,
               oc.operator_id AS operator, o.team, d.outcome AS disposition,
               d.notes, c.fields
        FROM call_attempts a
        JOIN contacts c ON c.id = a.contact_id
        LEFT JOIN operator_calls oc ON oc.call_id = a.id
        LEFT JOIN operators o ON o.id = oc.operator_id
        LEFT JOIN dispositions d ON d.call_id = a.id
        WHERE a.campaign_id = $1 AND a.state = 'ended'{filters}
        ORDER BY a.created_at, a.id
        LIMIT {int(limit) if limit else "ALL"}
        """,
        campaign_id,
        timezone,
        *args,
    )
    field_names = sorted({k for r in rows for k in (r["fields"] or {})})
    columns = [*BASE_COLUMNS, *field_names]
    out = []
    for r in rows:
        record = {k: r[k] for k in BASE_COLUMNS}
        fields = r["fields"] or {}
        record.update({k: _plain(fields.get(k)) for k in field_names})
        out.append(record)

    return columns, out


def customer_columns(columns: list[str]) -> set[str]:
    """Which of a call list's columns hold customer data."""
    return set(CUSTOMER_COLUMNS) | set(columns[len(BASE_COLUMNS) :])


def mask_calls(columns: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The call list with every customer column masked."""
    keys = customer_columns(columns)
    return [mask_record(r, keys) for r in rows]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _scope_filter(scope: Scope) -> tuple[str, list[Any]]:
    parts, args = [], []
    if scope.operators is not None:
        args.append(sorted(scope.operators))
        parts.append(f"oc.operator_id = ANY(${2 + len(args)}::text[])")
    if scope.teams is not None:
        args.append(sorted(scope.teams))
        parts.append(f"o.team = ANY(${2 + len(args)}::text[])")
    return "".join(f" AND {p}" for p in parts), args
