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
from collections.abc import Callable
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
WHERE a.campaign_id = $1 AND a.state <> 'ended' AND a.engine_id IS DISTINCT FROM $2
"""

CampaignCount = Callable[[int], int]


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
        self._engine_id: str | None = None
        self._active: CampaignCount = lambda _: 0
        self._bridged: CampaignCount = lambda _: 0

    def bind_local(
        self, engine_id: str, active: CampaignCount, bridged: CampaignCount
    ) -> None:
        """
        Count this engine's calls from memory rather than from Postgres.

        The dialer starts a call before its attempt row is committed, so rows
        alone lag behind by the calls being placed right now; ``active`` (the
        dialer's own count) and ``bridged`` (calls with an operator) do not.
        """
        self._engine_id = engine_id
        self._active = active
        self._bridged = bridged

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
            row = await conn.fetchrow(_IN_FLIGHT, campaign.id, self._engine_id)
        active = self._active(campaign.id)
        waiting = int(row["waiting"]) + max(0, active - self._bridged(campaign.id))
        wanted = math.floor(free * self.ratio_for(campaign) + 1e-9) - waiting
        headroom = campaign.max_concurrent - int(row["open"]) - active

        return max(0, min(wanted, headroom))
