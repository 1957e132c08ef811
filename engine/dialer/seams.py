"""
Where other parts plug into the dialer, and the defaults used until they do.

- ``DialGate``: may a contact be dialled now? Asked when the contact is leased
  (stage ``"lease"``) and again right before the originate, after the attempt
  row is committed (stage ``"originate"``). Compliance provides one.
- ``AnswerHandler``: what happens once the customer answered and the bridge
  recording runs. Default: ``PlayMessage`` plays a short message, hangs up.
- ``CapacityProvider``: how many new calls a campaign may start now. Default:
  ``MaxConcurrent``, the campaign's max_concurrent minus its calls in
  progress. Operators provide progressive pacing.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

import asyncpg
import structlog

from engine.ari import AriNotFoundError
from engine.dialer.models import Campaign, Contact
from engine.dialer.pacing import Pacer

if TYPE_CHECKING:
    from engine.dialer.calls import Call

log = structlog.get_logger(__name__)

Stage = Literal["lease", "originate"]


@dataclass(frozen=True)
class GateDecision:
    """
    A gate's answer: allowed, or why not and when to try again.

    A final refusal closes the contact in ``closes_as``: ``suppressed`` for a
    do-not-call entry, ``exhausted`` for spent attempts, ``cancelled`` else.
    """

    allowed: bool
    reason: str = ""
    retry_at: datetime | None = None
    final: bool = False
    closes_as: Literal["cancelled", "suppressed", "exhausted"] = "cancelled"

    @classmethod
    def allow(cls) -> "GateDecision":
        """The contact may be dialled."""
        return cls(True)


class DialGate(Protocol):
    """A check every contact passes before it is dialled."""

    async def check(
        self,
        conn: asyncpg.Connection,
        campaign: Campaign,
        contact: Contact,
        now: datetime,
        stage: Stage,
    ) -> GateDecision:
        """Decide whether ``contact`` may be dialled at ``now``."""
        ...


class AnswerHandler(Protocol):
    """What to do with an answered, recorded call."""

    async def on_answered(self, call: "Call") -> None:
        """Run the answered call; return when done with it."""
        ...


class CapacityProvider(Protocol):
    """How many new calls a campaign may start now."""

    async def capacity(self, campaign: Campaign) -> int:
        """The number of calls that may be started right now (0 or more)."""
        ...


class MaxConcurrent:
    """Default capacity: the campaign's max_concurrent minus calls in progress."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    async def capacity(self, campaign: Campaign) -> int:
        """Free slots under the campaign's own cap."""
        return max(0, campaign.max_concurrent - self.pacer.active(campaign.id))


class PlayMessage:
    """Default answer handler: play a short message, then hang up."""

    def __init__(self, media: str, max_wait: float = 60.0) -> None:
        self.media = media
        self.max_wait = max_wait

    async def on_answered(self, call: "Call") -> None:
        """Play the message to the customer and hang up when it ends."""
        try:
            state = await call.play(self.media, max_wait=self.max_wait)
            if state != "ended":
                await call.hangup()
        except AriNotFoundError:
            log.info("call_gone_before_message", call_id=call.id)
