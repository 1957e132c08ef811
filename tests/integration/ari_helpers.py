"""Shared helpers of the ARI client's integration tests (not a test module)."""

import asyncio
from collections.abc import Callable

from engine.ari import Event

# Generous: the simulator runs at time_scale 0.01, so waits are milliseconds.
WAIT_SECONDS = 10.0


class EventRecorder:
    """An ``"*"`` handler that keeps every event and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Condition()

    async def __call__(self, event: Event) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of(self, channel_id: str) -> list[Event]:
        """The events about one channel, in the order they were handled."""
        return [e for e in self.events if e.channel_id == channel_id]

    def types(self, channel_id: str) -> list[str]:
        """The types of the events about one channel."""
        return [e.type for e in self.of(channel_id)]

    async def wait_for(
        self,
        event_type: str,
        channel_id: str | None = None,
        *,
        where: Callable[[Event], bool] = lambda e: True,
    ) -> Event:
        """The first event of a type (about a channel) matching ``where``."""

        def match() -> Event | None:
            return next(
                (
                    e
                    for e in self.events
                    if e.type == event_type
                    and (channel_id is None or e.channel_id == channel_id)
                    and where(e)
                ),
                None,
            )

        async with asyncio.timeout(WAIT_SECONDS), self._changed:
            await self._changed.wait_for(lambda: match() is not None)
        found = match()
        assert found is not None

        return found


class SlowRestProxy:
    """
    A TCP proxy in front of the simulator that holds every HTTP answer for
    ``delay`` seconds but passes WebSocket traffic at once: a slow REST path,
    so that the events a request causes reliably arrive before its answer.
    """

    def __init__(self, target_url: str, delay: float) -> None:
        host, _, port = target_url.removeprefix("http://").partition(":")
        self._target = (host, int(port))
        self._delay = delay
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    async def start(self) -> str:
        """Listen on a free loopback port; returns the proxy's base URL."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

        return self.url

    async def stop(self) -> None:
        """Stop listening and cut every proxied connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer, slow=False)),
            asyncio.create_task(self._pump(up_reader, writer, slow=True)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
                self._tasks.discard(pump)
            writer.close()
            up_writer.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, slow: bool
    ) -> None:
        first = True
        while chunk := await reader.read(65536):
            if first:
                slow = slow and not chunk.startswith(b"HTTP/1.1 101")
                first = False
            if slow:
                await asyncio.sleep(self._delay)
            writer.write(chunk)
            await writer.drain()
