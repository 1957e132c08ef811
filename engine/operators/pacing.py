"""
Progressive pacing: a campaign dials only as many customers as operators can take.

A campaign uses operators when its settings say so: ``{"operators": true}`` or
``{"operators": {"ratio": 1.5, "wrap_up_s": 20, ...}}``. Its capacity is then

    floor(free operators x ratio) - calls in flight not yet with an operator

where free operators are ready ones (or whose wrap-up is over) that may take
this campaign's calls, and calls in flight are the campaign's attempts not
ended and not bridged, counted in Postgres across every engine. The result
never exceeds the campaign's own max_concurrent headroom.
"""

import math
from typing import TYPE_CHECKING, Any

import asyncpg

from engine.clock import Clock
from engine.operators.routing import count_free

if TYPE_CHECKING:
    from engine.dialer.models import Campaign

_IN_FLIGHT = """
SELECT count(*) FILTER (WHERE oc.call_id IS NULL) AS waiting, count(*) AS open
FROM call_attempts a
LEFT JOIN operator_calls oc ON oc.call_id = a.id
WHERE a.campaign_id = $1 AND a.state <> 'ended'
"""


def campaign_operator_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The ``operators`` block of a campaign's settings, as a dict."""
    value = settings.get("operators")
    if isinstance(value, dict):
        return value

    return {}


def uses_operators(campaign: "Campaign") -> bool:
    """Whether answered calls of this campaign go to operators."""
    value = campaign.settings.get("operators")

    return bool(value) if not isinstance(value, dict) else value.get("enabled", True)


class ProgressiveCapacity:
    """CapacityProvider: free operators times the campaign's ratio."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock, *, ratio: float = 1.0) -> None:
        self.pool = pool
        self.clock = clock
        self.ratio = ratio

    def ratio_for(self, campaign: "Campaign") -> float:
        """The campaign's calls per free operator (its own, else the default)."""
        ratio = campaign_operator_settings(campaign.settings).get("ratio", self.ratio)
        try:
            ratio = float(ratio)
        except (TypeError, ValueError):
            return self.ratio

        return ratio if ratio > 0 else self.ratio

    async def capacity(self, campaign: "Campaign") -> int:
        """How many new calls the campaign may start now (0 or more)."""
        async with self.pool.acquire() as conn:
            free = await count_free(conn, campaign_id=campaign.id, now=self.clock.now())
            row = await conn.fetchrow(_IN_FLIGHT, campaign.id)
        wanted = math.floor(free * self.ratio_for(campaign) + 1e-9) - row["waiting"]
        headroom = campaign.max_concurrent - row["open"]

        return max(0, min(wanted, headroom))
