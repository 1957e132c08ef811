"""
Progressive pacing: a campaign dials only as many customers as operators can take.

A campaign uses operators when its settings say so: ``{"operators": true}`` or
``{"operators": {"ratio": 1.5, "wrap_up_s": 20, ...}}``. Its capacity is then

    floor(free operators x ratio) - calls in flight not yet with an operator

where free operators are ready ones (or whose wrap-up is over) that may take
this campaign's calls. Bound to an engine (``bind_local``, as the engine
process does) both sides are that engine's own: its operators, and its calls
not yet with an operator, counted from memory over every operator campaign
it dials (operators shared between campaigns are not promised twice; erring
that way means fewer abandoned calls). Unbound, both come from Postgres
across all engines. The result never exceeds the campaign's max_concurrent
headroom, counted across all engines.
"""

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import asyncpg

from engine.clock import Clock
from engine.operators.routing import count_free

if TYPE_CHECKING:
    from engine.dialer.models import Campaign

# the campaign's open attempts on other engines (all, when $2 is NULL), and
# how many of those still wait for an operator
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
        self._campaigns: set[int] = set()

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
        self._campaigns.add(campaign.id)
        async with self.pool.acquire() as conn:
            free = await count_free(
                conn,
                campaign_id=campaign.id,
                now=self.clock.now(),
                engine_id=self._engine_id,
            )
            row = await conn.fetchrow(_IN_FLIGHT, campaign.id, self._engine_id)
        if self._engine_id is None:
            waiting = int(row["waiting"])
        else:
            waiting = sum(
                max(0, self._active(c) - self._bridged(c)) for c in self._campaigns
            )
        wanted = math.floor(free * self.ratio_for(campaign) + 1e-9) - waiting
        headroom = (
            campaign.max_concurrent - int(row["open"]) - self._active(campaign.id)
        )

        return max(0, min(wanted, headroom))
