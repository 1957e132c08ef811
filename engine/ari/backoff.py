"""
Reconnect delays: capped exponential backoff with full jitter.

Attempt ``n`` (from 1) waits a uniformly random time in
``[floor, min(cap, base * 2 ** (n - 1))]``. Full jitter spreads the reconnects
of many engines after an Asterisk restart, so they do not all hit it in the
same instant. The small floor keeps a random draw near zero from turning into
a tight loop against a server that accepts and at once closes.

The attempt counter only resets after a connection stayed up for
``stable_after`` seconds; a server that upgrades and immediately closes (a
"clean" close) therefore still gets longer and longer pauses.
"""

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """A reconnect delay policy; ``next_delay()`` per failed attempt."""

    base: float = 0.5
    cap: float = 30.0
    floor: float = 0.05
    stable_after: float = 10.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        """Count one more failed attempt and return how long to wait first."""
        self.attempt += 1
        ceiling = min(self.cap, self.base * 2 ** min(self.attempt - 1, 62))

        return max(self.floor, self.rng.uniform(0.0, ceiling))

    def connection_ended(self, lived: float) -> None:
        """Reset the counter if the last connection was up long enough."""
        if lived >= self.stable_after:
            self.attempt = 0

    def reset(self) -> None:
        """Start again from the first attempt."""
        self.attempt = 0
