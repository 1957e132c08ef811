"""
Stasis applications, their WebSockets and the delivery of events.

An application owns its subscriptions (channels, bridges, endpoints); they
outlive its WebSocket, as in Asterisk. Only one WebSocket serves an
application at a time: a second one takes over and the first receives
``ApplicationReplaced``. Events are encoded once with orjson and queued per
socket; a writer task per socket drains the queue, so emitting never awaits.
"""

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import web

from engine.sim.clock import SimClock

# Channel events Asterisk sends twice to an app subscribed both to the channel
# and to its endpoint (trace 12); Stasis and bridge membership events go once.
DUPLICATED_ON_ENDPOINT = frozenset(
    {
        "ChannelCreated",
        "ChannelStateChange",
        "Dial",
        "ChannelVarset",
        "ChannelHangupRequest",
        "ChannelDestroyed",
        "ChannelDialplan",
        "ChannelCallerId",
        "ChannelConnectedLine",
    }
)


def text_frame(payload: bytes) -> bytes:
    """One unmasked, uncompressed WebSocket text frame (server to client)."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65536:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")

    return header + payload


class EventSocket:
    """
    One events WebSocket: a queue and the task that writes it out.

    Queued events are framed here and written to the transport in batches,
    one system call for many events; that is what lets one simulator carry
    thousands of calls. Frames are sent uncompressed, which RFC 7692 allows
    even when permessage-deflate was negotiated.
    """

    BATCH_BYTES = 256 * 1024
    HIGH_WATER = 4 * 1024 * 1024

    def __init__(
        self,
        ws: web.WebSocketResponse,
        apps: list[str],
        transport: asyncio.BaseTransport | None = None,
    ) -> None:
        self.ws = ws
        self.apps = apps
        self._transport = (
            transport if isinstance(transport, asyncio.Transport) else None
        )
        self._queue: deque[bytes] = deque()
        self._wakeup = asyncio.Event()
        self._task = asyncio.create_task(self._write_loop())

    def push(self, payload: bytes) -> None:
        """Queue one JSON message for this socket."""
        self._queue.append(payload)
        self._wakeup.set()

    async def _write_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            try:
                await self._drain_queue()
            except (ConnectionError, RuntimeError):
                self._queue.clear()
                return

    async def _drain_queue(self) -> None:
        transport = self._transport
        while self._queue:
            if transport is None:
                await self.ws.send_str(self._queue.popleft().decode())
                continue
            if transport.is_closing() or self.ws.closed:
                raise ConnectionResetError("events socket closed")
            batch, size = [], 0
            while self._queue and size < self.BATCH_BYTES:
                frame = text_frame(self._queue.popleft())
                batch.append(frame)
                size += len(frame)
            transport.write(b"".join(batch))
            # The transport has no awaitable for its buffer (aiohttp's drain is
            # private), so a slow reader is waited for by polling.
            while transport.get_write_buffer_size() > self.HIGH_WATER:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            await asyncio.sleep(0)

    async def close(self, *, abort: bool = False) -> None:
        """Stop writing and close the socket (``abort`` drops the TCP link)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if abort and self._transport is not None:
            self._transport.abort()
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close()


class Application:
    """A Stasis application and its subscriptions."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.channel_ids: set[str] = set()
        self.bridge_ids: set[str] = set()
        self.endpoint_ids: list[str] = []
        self.socket: EventSocket | None = None
        self.subscribe_all = False

    @property
    def registered(self) -> bool:
        """Whether a WebSocket currently serves this application."""
        return self.socket is not None

    def to_json(self) -> dict[str, Any]:
        """The ARI ``Application`` model."""
        return {
            "name": self.name,
            "channel_ids": sorted(self.channel_ids),
            "bridge_ids": sorted(self.bridge_ids),
            "endpoint_ids": list(dict.fromkeys(self.endpoint_ids)),
            "device_names": [],
            "events_allowed": [],
            "events_disallowed": [],
        }


class EventHub:
    """Routes events to the applications that should receive them."""

    def __init__(self, clock: SimClock, asterisk_id: str) -> None:
        self.clock = clock
        self.asterisk_id = asterisk_id
        self.apps: dict[str, Application] = {}
        self.sockets: set[EventSocket] = set()
        self.attached = asyncio.Event()

    def app(self, name: str) -> Application:
        """The application of that name, created on first use."""
        found = self.apps.get(name)
        if found is None:
            found = self.apps[name] = Application(name)

        return found

    def registered(self, name: str) -> bool:
        """Whether an application of that name has a live WebSocket."""
        found = self.apps.get(name)

        return found is not None and found.registered

    def attach(self, socket: EventSocket) -> None:
        """Give the socket its apps; a previous socket gets ApplicationReplaced."""
        self.sockets.add(socket)
        self.attached.set()
        for name in socket.apps:
            app = self.app(name)
            old = app.socket
            app.socket = socket
            if old is not None and old is not socket:
                self._push(old, name, {"type": "ApplicationReplaced"})

    def detach(self, socket: EventSocket) -> None:
        """Forget a closed socket; its apps keep their subscriptions."""
        self.sockets.discard(socket)
        for name in socket.apps:
            app = self.apps.get(name)
            if app is not None and app.socket is socket:
                app.socket = None

    def emit(self, apps: Iterable[str], event: dict[str, Any]) -> None:
        """Send one event (``type`` and fields) to each named app, in order."""
        stamp = None
        for name in apps:
            app = self.apps.get(name)
            if app is None or app.socket is None:
                continue
            stamp = stamp or self.clock.stamp()
            self._push(app.socket, name, event, stamp)
        for app in self.apps.values():
            if app.subscribe_all and app.socket is not None and app.name not in apps:
                stamp = stamp or self.clock.stamp()
                self._push(app.socket, app.name, event, stamp)

    def _push(
        self,
        socket: EventSocket,
        app: str,
        event: dict[str, Any],
        stamp: str | None = None,
    ) -> None:
        message = {"type": event["type"], "timestamp": stamp or self.clock.stamp()}
        message.update(event)
        message["asterisk_id"] = self.asterisk_id
        message["application"] = app
        socket.push(orjson.dumps(message))

    async def close_all(self, *, abort: bool = False) -> None:
        """Close every events WebSocket (a restart or an injected fault)."""
        for socket in list(self.sockets):
            self.detach(socket)
            await socket.close(abort=abort)
