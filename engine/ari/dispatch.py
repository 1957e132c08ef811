"""
Per-channel ordered dispatch of ARI events to async handlers.

Design: every event gets a key naming what it is about: ``channel:<id>`` for
channel events (a ``Dial`` event by its ``peer``, the originated channel),
the ``target_uri`` for playbacks and recordings (``channel:<id>`` or
``bridge:<id>``), ``bridge:<id>`` for bridge-only events, ``endpoint:<name>``
for endpoint events, and ``""`` for application-wide ones. Each key has a
FIFO queue drained by one worker task, so one channel's handlers run one at a
time in arrival order while different channels run concurrently.

A worker exits, and its key is forgotten, as soon as its queue is empty: no
per-channel state outlives a burst of events, so channels that end with
``ChannelDestroyed``, with ``StasisEnd`` only (snoop channels), or with nothing
at all (a dropped WebSocket) cannot leak. The check "queue empty, forget the
key" happens without an ``await`` in between, so a new event either lands in
the running worker's queue or starts a fresh worker after the old one is gone:
order per key is kept either way.

A handler that raises is logged with its traceback; the next handler and the
next event still run.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

import structlog

from engine.ari.models import Event

log = structlog.get_logger(__name__)

EventHandler = Callable[[Event], Awaitable[None]]

ANY = "*"


def dispatch_key(event: Event) -> str:
    """The ordering key of an event: what resource it is about."""
    channel_id = event.channel_id
    if channel_id is not None:
        return "channel:" + channel_id
    if event.playback is not None and event.playback.target_uri:
        return event.playback.target_uri
    if event.recording is not None and event.recording.target_uri:
        return event.recording.target_uri
    if event.bridge is not None:
        return "bridge:" + event.bridge.id
    if event.endpoint is not None:
        return f"endpoint:{event.endpoint.technology}/{event.endpoint.resource}"

    return ""


class Dispatcher:
    """Routes events to handlers registered by event type (``"*"`` = all)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[EventHandler]] = {}
        self._queues: dict[str, deque[Event]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, event_type: str, handler: EventHandler) -> Callable[[], None]:
        """Register a handler; returns a function that removes it again."""
        self._handlers.setdefault(event_type, []).append(handler)

        def remove() -> None:
            handlers = self._handlers.get(event_type, [])
            if handler in handlers:
                handlers.remove(handler)

        return remove

    @property
    def active_keys(self) -> frozenset[str]:
        """Keys that have a worker right now (for tests and status)."""
        return frozenset(self._queues)

    def dispatch(self, event: Event) -> None:
        """Queue an event behind the earlier events with the same key."""
        if not self._handlers.get(event.type) and not self._handlers.get(ANY):
            return
        key = dispatch_key(event)
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(event)
            return
        self._queues[key] = deque((event,))
        self._idle.clear()
        self._workers[key] = asyncio.create_task(
            self._work(key), name=f"ari-dispatch-{key}"
        )

    async def join(self) -> None:
        """Wait until every queued event has been handled."""
        await self._idle.wait()

    async def close(self) -> None:
        """Cancel the workers; events still queued are dropped."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        # A worker cancelled before its first step never ran its cleanup.
        self._queues.clear()
        self._workers.clear()
        self._idle.set()

    async def _work(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                await self._handle(queue.popleft())
        finally:
            del self._queues[key]
            del self._workers[key]
            if not self._queues:
                self._idle.set()

    async def _handle(self, event: Event) -> None:
        handlers = [*self._handlers.get(event.type, ()), *self._handlers.get(ANY, ())]
        for handler in handlers:
            try:
                await handler(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "ari_handler_failed",
                    event_type=event.type,
                    channel_id=event.channel_id,
                    handler=getattr(handler, "__qualname__", repr(handler)),
                )
