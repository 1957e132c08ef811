"""
One call attempt in memory: its state machine and the registry keyed by channel.

Design. The attempt id is the ARI channel id, so every event about the
customer leg finds its ``Call`` with one dict lookup, whatever order events and
REST responses arrive in (events often come first). States are small objects
whose transition methods return the next state; a transition that makes no
sense in a state returns the state unchanged, so a duplicate or late event
(Dial ANSWER after StasisStart, ChannelDestroyed after an engine hang-up) is
harmless by construction.

    Created ──originate_sent──▶ Originating ──dial(RINGING)──▶ Ringing
                                   │                             │
                                   └──────stasis_started─────────┴──▶ Answered
    any state ──ended──▶ Ended
"""

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from engine.dialer.models import Campaign, Contact
from engine.dialer.outcomes import Outcome, classify

if TYPE_CHECKING:
    from engine.ari import AriClient


class CallState:
    """A state of a call; transitions return the next state."""

    name: ClassVar[str] = "state"

    def originate_sent(self) -> "CallState":
        """The originate request is on its way."""
        return self

    def dialled(self, dialstatus: str) -> "CallState":
        """A ``Dial`` event reported progress."""
        return self

    def stasis_started(self) -> "CallState":
        """The customer answered: the channel entered our Stasis app."""
        return self

    def ended(self) -> "CallState":
        """The call is over, whatever ended it."""
        return ENDED

    def __repr__(self) -> str:
        return self.name


class Created(CallState):
    """The attempt row exists; nothing was sent to Asterisk yet."""

    name = "created"

    def originate_sent(self) -> CallState:
        return ORIGINATING


class Originating(CallState):
    """The originate was sent; the party is not yet ringing."""

    name = "originating"

    def dialled(self, dialstatus: str) -> CallState:
        return RINGING if dialstatus == "RINGING" else self

    def stasis_started(self) -> CallState:
        return ANSWERED


class Ringing(CallState):
    """The party's phone is ringing."""

    name = "ringing"

    def stasis_started(self) -> CallState:
        return ANSWERED


class Answered(CallState):
    """The customer is on the line, in a recorded bridge."""

    name = "answered"


class Ended(CallState):
    """Over; a late event changes nothing."""

    name = "ended"

    def ended(self) -> CallState:
        return self


CREATED, ORIGINATING, RINGING = Created(), Originating(), Ringing()
ANSWERED, ENDED = Answered(), Ended()


@dataclass(eq=False)
class Call:
    """
    One customer call attempt, as the dialer and answer handlers see it.

    An ``AnswerHandler`` gets this object: ``ari`` to act, ``bridge_id`` to
    add an operator leg, ``play()``/``hangup()`` for the simple cases and
    ``ended`` to wait for the end.
    """

    id: str
    campaign: Campaign
    contact: Contact
    attempt_no: int
    dial_string: str
    ari: "AriClient"
    state: CallState = CREATED
    dialstatus: str | None = None
    cause: int | None = None
    cause_txt: str | None = None
    bridge_id: str | None = None
    recording_name: str | None = None
    recording_id: int | None = None
    answered_at: datetime | None = None
    started: float = field(default_factory=time.monotonic)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    handler_task: asyncio.Task[None] | None = None
    playbacks: dict[str, asyncio.Future[str]] = field(default_factory=dict)
    originate_done: bool = False
    # set by an answer handler that had to drop the customer (no operator free)
    abandoned: bool = False
    # true from StasisStart until the bridge recording has started: a call
    # that ends before then never counts as answered (none without a recording)
    unrecorded: bool = False

    @property
    def channel_id(self) -> str:
        """The customer channel's id (the same as the attempt id)."""
        return self.id

    @property
    def is_answered(self) -> bool:
        """True once the customer answered."""
        return self.answered_at is not None

    @property
    def outcome(self) -> Outcome:
        """The outcome from what is known now: dialstatus first, cause second."""
        if self.unrecorded:
            return Outcome.FAILED
        if self.abandoned:
            return Outcome.ABANDONED
        return classify(self.dialstatus, self.cause, answered=self.is_answered)

    def transition(self, new: CallState) -> bool:
        """Move to ``new``; True when the state actually changed."""
        changed = new is not self.state
        self.state = new

        return changed

    async def play(self, media: str, *, max_wait: float = 60.0) -> str:
        """
        Play media to the customer and wait until it finishes.

        Returns the final playback state (``done``, ``failed``) or ``ended``
        when the call ended first.
        """
        playback_id = f"{self.id}-{len(self.playbacks)}"
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.playbacks[playback_id] = done
        await self.ari.play(self.id, media, playback_id=playback_id)
        ended: asyncio.Future[bool] = asyncio.ensure_future(self.ended.wait())
        try:
            waiting: set[asyncio.Future[Any]] = {done, ended}
            await asyncio.wait(
                waiting, timeout=max_wait, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ended.cancel()

        return done.result() if done.done() else "ended"

    def playback_finished(self, playback_id: str, state: str) -> None:
        """Resolve a waiting ``play()``."""
        future = self.playbacks.get(playback_id)
        if future is not None and not future.done():
            future.set_result(state)

    async def hangup(self, reason: str = "normal") -> None:
        """Hang up the customer leg (the end arrives as ChannelDestroyed)."""
        await self.ari.hangup(self.id, reason)

    def duration_ms(self) -> int:
        """Milliseconds since the attempt started."""
        return int((time.monotonic() - self.started) * 1000)


class CallRegistry:
    """The calls this engine handles now, by channel (= attempt) id."""

    def __init__(self) -> None:
        self._calls: dict[str, Call] = {}
        self.empty = asyncio.Event()
        self.empty.set()

    def add(self, call: Call) -> None:
        """Register a call before any event about it can arrive."""
        self._calls[call.id] = call
        self.empty.clear()

    def get(self, channel_id: str | None) -> Call | None:
        """The call with this channel id, if it is ours."""
        return None if channel_id is None else self._calls.get(channel_id)

    def remove(self, call: Call) -> None:
        """Forget an ended call."""
        self._calls.pop(call.id, None)
        if not self._calls:
            self.empty.set()

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(list(self._calls.values()))
