"""
A campaign's own compliance settings, kept in ``campaigns.settings``:

    calling_window         narrower than its kind's window (text or JSON)
    call_on_holidays       whether public holidays use the weekday's window
    max_attempts_per_day   at most the institution's cap
    min_call_gap_s         at least the institution's gap

Every change is validated before anything is written (a wider window names
the offending interval) and audited; the dialer picks it up on its next poll.
"""

from collections.abc import Mapping
from typing import Any

import asyncpg

from engine.compliance.exceptions import ComplianceError
from engine.compliance.windows import effective_window, parse_window
from engine.db.audit import audit
from engine.settings import Settings

KEYS = ("calling_window", "call_on_holidays", "max_attempts_per_day", "min_call_gap_s")


def check_policy(
    kind: str, changes: Mapping[str, Any], settings: Settings
) -> dict[str, Any]:
    """The changes, validated against the institution's limits, or an error."""
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in KEYS:
            raise ComplianceError(f"unknown compliance setting {key!r}")
        if value is None:
            clean[key] = None
        elif key == "calling_window":
            effective_window(kind, value, settings.calling_windows)
            clean[key] = parse_window(value).describe()
        elif key == "call_on_holidays":
            clean[key] = bool(value)
        elif key == "max_attempts_per_day":
            clean[key] = _bounded(key, value, 1, settings.max_attempts_per_day)
        else:
            clean[key] = _bounded(key, value, settings.min_call_gap_s, 30 * 86400)

    return clean


def _bounded(key: str, value: Any, low: int, high: int) -> int:
    number = int(value)
    if not low <= number <= high:
        raise ComplianceError(f"{key} must be between {low} and {high}, not {number}")

    return number


async def set_policy(
    conn: asyncpg.Connection,
    campaign_ref: str,
    changes: Mapping[str, Any],
    *,
    settings: Settings,
    actor: str,
) -> dict[str, Any]:
    """Validate and store a campaign's compliance settings; return them all."""
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, kind, settings FROM campaigns WHERE name = $1 OR id::text = $1"
            " ORDER BY name = $1 DESC LIMIT 1 FOR UPDATE",
            campaign_ref,
        )
        if row is None:
            raise ComplianceError(f"no campaign named {campaign_ref!r}")
        clean = check_policy(row["kind"], changes, settings)
        merged = {**dict(row["settings"] or {}), **clean}
        merged = {k: v for k, v in merged.items() if v is not None}
        await conn.execute(
            "UPDATE campaigns SET settings = $2, updated_at = now() WHERE id = $1",
            row["id"],
            merged,
        )
        await audit(
            conn, actor, "campaign_compliance_set", "campaign", row["id"], **clean
        )

    return {k: merged.get(k) for k in KEYS}
