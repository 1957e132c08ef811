"""
How fast and how many: a calls-per-second token bucket and concurrency caps.

Carriers reject bursts, so the bucket holds at most one token by default:
calls leave evenly spaced at ``1 / rate`` seconds rather than in clumps, even
after a quiet spell. Concurrency is capped per campaign (its max_concurrent)
and for the whole engine (``settings.max_calls``).

Pacing is rate control, not scheduling: it runs on the monotonic clock, which
tests may replace.
"""

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """A token bucket: ``rate`` tokens a second, holding at most ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._monotonic = monotonic
        self._rate = rate
        self._burst = max(burst, 1.0)
        self._tokens = self._burst
        self._stamp = monotonic()

    @property
    def rate(self) -> float:
        """Tokens added per second."""
        return self._rate

    def set_rate(self, rate: float) -> None:
        """Change the rate (a campaign was edited), keeping accrued tokens."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._refill()
        self._rate = rate

    def try_take(self) -> float:
        """Take a token if one is there (returns 0), else the seconds to wait."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0

        return (1.0 - self._tokens) / self._rate

    async def take(self) -> None:
        """Wait until a token is there, then take it."""
        wait = self.try_take()
        while wait > 0:
            await asyncio.sleep(wait)
            wait = self.try_take()

    def _refill(self) -> None:
        now = self._monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now


class Pacer:
    """Counts calls in progress per campaign and says how many more may start."""

    def __init__(self, engine_cap: int) -> None:
        self.engine_cap = engine_cap
        self._active: dict[int, int] = {}
        self._buckets: dict[int, TokenBucket] = {}
        self._originates: dict[int, TokenBucket] = {}
        self.changed = asyncio.Event()

    def bucket(self, campaign_id: int, rate: float) -> TokenBucket:
        """The bucket that admits new calls of a campaign (leasing and gates)."""
        return self._bucket(self._buckets, campaign_id, rate)

    def originate_bucket(self, campaign_id: int, rate: float) -> TokenBucket:
        """
        The bucket each originate request waits on, right before it is sent.

        Calls are admitted at the campaign's rate, but the database work before
        each originate takes a varying time; this second bucket at the same rate
        takes that jitter out, so requests reach the carrier evenly spaced.
        """
        return self._bucket(self._originates, campaign_id, rate)

    @staticmethod
    def _bucket(
        buckets: dict[int, TokenBucket], campaign_id: int, rate: float
    ) -> TokenBucket:
        bucket = buckets.get(campaign_id)
        if bucket is None:
            bucket = buckets[campaign_id] = TokenBucket(rate)
        elif bucket.rate != rate:
            bucket.set_rate(rate)

        return bucket

    def active(self, campaign_id: int | None = None) -> int:
        """Calls in progress for one campaign, or for the engine."""
        if campaign_id is None:
            return sum(self._active.values())

        return self._active.get(campaign_id, 0)

    def free(self, campaign_id: int, max_concurrent: int) -> int:
        """New calls that may start now within both caps."""
        campaign_free = max_concurrent - self.active(campaign_id)
        engine_free = self.engine_cap - self.active()

        return max(0, min(campaign_free, engine_free))

    def started(self, campaign_id: int) -> None:
        """Count a call as in progress."""
        self._active[campaign_id] = self._active.get(campaign_id, 0) + 1

    def ended(self, campaign_id: int) -> None:
        """Count a call as over and wake anyone waiting for a free slot."""
        left = self._active.get(campaign_id, 0) - 1
        if left > 0:
            self._active[campaign_id] = left
        else:
            self._active.pop(campaign_id, None)
        self.changed.set()
