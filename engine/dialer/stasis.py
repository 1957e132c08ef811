"""
ARI event handlers of the dialer, and nothing else: call logic is in services.

Each handler returns early for events that are not ours, binds ``call_id`` and
``channel_id`` for the logs, then hands over to ``CallService``. A 404 from
ARI while acting is the ordinary hang-up race and is logged at info; any other
failure is logged with its traceback and the customer is hung up, so nobody is
left stuck in Stasis.
"""

import asyncio
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable

import structlog

from engine.ari import AriClient, AriNotFoundError, Channel, Event
from engine.dialer.calls import CallRegistry
from engine.dialer.services import CallService

log = structlog.get_logger(__name__)

CUSTOMER_ARG = "customer"
RECORDING_PREFIX = "outdial-"


Handler = Callable[[Event], Awaitable[None]]


class EventLatency:
    """Seconds from an event's ARI timestamp to the end of its handler."""

    def __init__(self, keep: int = 100_000) -> None:
        self.samples: deque[float] = deque(maxlen=keep)

    def wrap(self, handler: Handler) -> Handler:
        """The handler, timed."""

        async def timed(event: Event) -> None:
            try:
                await handler(event)
            finally:
                self.samples.append(time.time() - event.timestamp.timestamp())

        return timed

    def summary(self) -> dict[str, float]:
        """Count, p50 and p99 in milliseconds."""
        if len(self.samples) < 2:
            return {"events": float(len(self.samples))}
        cuts = statistics.quantiles(self.samples, n=100)

        return {
            "events": float(len(self.samples)),
            "p50_ms": round(cuts[49] * 1000, 2),
            "p99_ms": round(cuts[98] * 1000, 2),
        }


class CallEvents:
    """Routes the ARI events of customer calls to the call service."""

    def __init__(self, app: str, registry: CallRegistry, service: CallService) -> None:
        self.app = app
        self.registry = registry
        self.service = service
        self.latency = EventLatency()
        # Set by the composition root: adopts an answered call of an attempt
        # this process does not know (Recovery.adopt_answered).
        self.adopt_unknown: Callable[[Channel], Awaitable[bool]] | None = None

    def subscribe(self, ari: AriClient) -> None:
        """Register every handler with the ARI client."""
        table: dict[str, Handler] = {
            "StasisStart": self.on_stasis_start,
            "Dial": self.on_dial,
            "ChannelDestroyed": self.on_channel_destroyed,
            "RecordingFinished": self.on_recording_finished,
            "RecordingFailed": self.on_recording_finished,
            "PlaybackFinished": self.on_playback_finished,
        }
        for event_type, handler in table.items():
            ari.on(event_type, self.latency.wrap(handler))

    async def on_stasis_start(self, event: Event) -> None:
        """The customer answered: bridge, record, hand to the answer handler."""
        if event.application != self.app:
            log.debug("stasis_start_ignored", reason="other app")
            return
        if not event.args or event.args[0] != CUSTOMER_ARG:
            log.debug("stasis_start_ignored", reason="not a customer leg")
            return
        call = self.registry.get(event.channel_id)
        if call is None:
            await self._on_stasis_start_unknown(event)
            return
        with structlog.contextvars.bound_contextvars(
            call_id=call.id, channel_id=call.id, event_type=event.type
        ):
            if not call.transition(call.state.stasis_started()):
                log.debug("stasis_start_ignored", reason=f"call {call.state}")
                return
            try:
                await self.service.answer(call)
            except AriNotFoundError:
                log.info("call_gone_during_answer")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("call_answer_failed")
                await self.service.hangup_safely(call)

    async def _on_stasis_start_unknown(self, event: Event) -> None:
        # A customer leg this process does not know: an open attempt of an
        # earlier process is taken over; with none (its attempt was closed
        # while the channel lived on) nobody would record it, so hang up.
        channel_id = event.channel_id or ""
        adopt = self.adopt_unknown
        if adopt is not None and event.channel is not None:
            with structlog.contextvars.bound_contextvars(
                call_id=channel_id, channel_id=channel_id
            ):
                try:
                    if await adopt(event.channel):
                        return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("call_adoption_failed")
        log.warning("stasis_start_unknown_call", channel_id=channel_id)
        try:
            await self.service.ari.hangup(channel_id)
        except AriNotFoundError:
            log.info("hangup_channel_gone", channel_id=channel_id)

    async def on_dial(self, event: Event) -> None:
        """Remember the latest dialstatus of an originated customer leg."""
        call = self.registry.get(event.channel_id)
        if call is None or not event.dialstatus:
            return
        call.dialstatus = event.dialstatus
        call.transition(call.state.dialled(event.dialstatus))

    async def on_channel_destroyed(self, event: Event) -> None:
        """The customer leg is gone: close the attempt."""
        call = self.registry.get(event.channel_id)
        if call is None:
            log.debug("channel_destroyed_ignored", channel_id=event.channel_id)
            return
        with structlog.contextvars.bound_contextvars(
            call_id=call.id, channel_id=call.id, event_type=event.type
        ):
            call.cause = event.cause
            call.cause_txt = event.cause_txt
            await self.service.finish(call)

    async def on_recording_finished(self, event: Event) -> None:
        """A recording of ours is complete: queue it for the archive."""
        recording = event.recording
        if recording is None or not recording.name.startswith(RECORDING_PREFIX):
            return
        with structlog.contextvars.bound_contextvars(recording=recording.name):
            if event.type == "RecordingFailed":
                log.warning("recording_failed", cause=recording.cause)
            await self.service.recording_finished(recording.name)

    async def on_playback_finished(self, event: Event) -> None:
        """Wake a ``Call.play()`` waiting for this playback."""
        playback = event.playback
        if playback is None:
            return
        kind, _, target = playback.target_uri.partition(":")
        call = self.registry.get(target) if kind == "channel" else None
        if call is not None:
            call.playback_finished(playback.id, playback.state)
