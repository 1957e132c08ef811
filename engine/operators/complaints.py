"""
Automatic pause: a campaign that draws too many complaints stops dialling by itself.

The threshold is per campaign, in its settings::

    {"operators": {"complaints": {"max": 3, "window_min": 60,
                                  "max_share": 0.05, "min_connected": 20}}}

It trips when ``max`` complaints fall within the last ``window_min`` minutes,
or when complaints reach ``max_share`` of the campaign's connected calls (once
at least ``min_connected`` calls connected, so that one early complaint does
not stop a campaign). The pause goes through the campaigns package's own state
change, so it is audited and NOTIFYed like a director's; calls in progress
finish normally, and the reason is on the campaign and in an escalation.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog

from engine.campaigns.exceptions import IllegalTransitionError
from engine.campaigns.repository import change_state
from engine.operators.dispositions import escalate
from engine.operators.pacing import campaign_operator_settings

log = structlog.get_logger(__name__)

ACTOR = "system:complaints"


@dataclass(frozen=True)
class ComplaintThreshold:
    """When a campaign pauses itself for complaints."""

    max: int | None = 5
    window_min: float = 60.0
    max_share: float | None = None
    min_connected: int = 20

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> "ComplaintThreshold":
        """The threshold in a campaign's settings, with defaults filled in."""
        raw = campaign_operator_settings(settings).get("complaints") or {}
        base = cls()

        return cls(
            max=raw.get("max", base.max),
            window_min=float(raw.get("window_min", base.window_min)),
            max_share=raw.get("max_share", base.max_share),
            min_connected=int(raw.get("min_connected", base.min_connected)),
        )


_COUNTS = """
SELECT
    (SELECT count(*) FROM dispositions
      WHERE campaign_id = $1 AND complaint AND created_at > $2) AS recent,
    (SELECT count(*) FROM dispositions
      WHERE campaign_id = $1 AND complaint) AS total,
    (SELECT count(*) FROM operator_calls WHERE campaign_id = $1) AS connected
"""


async def surge_reason(
    conn: asyncpg.Connection, campaign_id: int, settings: dict[str, Any], now: datetime
) -> str | None:
    """Why the campaign's complaints exceed its threshold, or None."""
    limit = ComplaintThreshold.from_settings(settings)
    since = now - timedelta(minutes=limit.window_min)
    row = await conn.fetchrow(_COUNTS, campaign_id, since)
    if limit.max is not None and row["recent"] >= limit.max:
        return (
            f"{row['recent']} complaints in the last {limit.window_min:g} minutes"
            f" (threshold {limit.max})"
        )
    connected = row["connected"]
    if (
        limit.max_share is not None
        and connected >= limit.min_connected
        and row["total"] / connected >= limit.max_share
    ):
        return (
            f"complaints on {row['total']} of {connected} connected calls"
            f" (threshold {limit.max_share:.1%})"
        )

    return None


async def check_and_pause(
    pool: asyncpg.Pool, campaign_id: int, now: datetime
) -> str | None:
    """Pause the campaign when its complaints exceed the threshold; the reason."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT state, settings FROM campaigns WHERE id = $1", campaign_id
        )
        if row is None or row["state"] != "running":
            return None
        reason = await surge_reason(conn, campaign_id, dict(row["settings"]), now)
        if reason is None:
            return None
        try:
            await change_state(
                conn, campaign_id, "pause", ACTOR, f"auto-paused: {reason}"
            )
        except IllegalTransitionError:
            return None
        await escalate(
            conn, "campaign_paused", None, now, campaign_id=campaign_id, reason=reason
        )
    log.warning("campaign_auto_paused", campaign_id=campaign_id, reason=reason)

    return reason
