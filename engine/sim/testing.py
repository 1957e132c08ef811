"""
A raw ARI test client: HTTP requests and a collected events stream.

For tests that want to see the simulator's wire behaviour without the
engine's own client in between (contract tests, simulator tests).
"""

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Any

import aiohttp
import orjson

Event = dict[str, Any]


class RawAri:
    """HTTP + one events WebSocket against an ARI server."""

    def __init__(
        self, url: str, username: str, password: str, app: str = "capture"
    ) -> None:
        self.url = url.rstrip("/")
        self.app = app
        self._auth = aiohttp.encode_basic_auth(username, password)
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "RawAri":
        self.session = aiohttp.ClientSession(headers={"Authorization": self._auth})
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self, query: dict[str, str] | None = None) -> None:
        """Open the events WebSocket for ``app``."""
        assert self.session is not None
        params = {"app": self.app, "subscribeAll": "false", **(query or {})}
        self.ws = await self.session.ws_connect(self.url + "/ari/events", params=params)
        self._reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                async with self._changed:
                    self.events.append(orjson.loads(message.data))
                    self._changed.notify_all()

    async def wait_closed(self, within: float = 5.0) -> None:
        """Wait until the server ends the events WebSocket."""
        if self._reader is not None:
            async with asyncio.timeout(within):
                await asyncio.shield(self._reader)

    async def close(self) -> None:
        """Close the socket and the session."""
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self.session is not None:
            await self.session.close()

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        json: Any = None,
        data: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One ARI request; returns (status, parsed JSON, text or bytes)."""
        assert self.session is not None
        if json is not None:
            data = orjson.dumps(json)
            headers = {"Content-Type": "application/json", **(headers or {})}
        async with self.session.request(
            method, self.url + path, params=params, data=data, headers=headers
        ) as response:
            raw = await response.read()
            if response.content_type == "application/json":
                return response.status, orjson.loads(raw) if raw else None
            if response.content_type.startswith("text"):
                return response.status, raw.decode()

            return response.status, raw if raw else None

    async def wait_for(
        self, match: str | Callable[[Event], bool], within: float = 5.0, start: int = 0
    ) -> Event:
        """The first event from index ``start`` matching a type or a predicate."""

        def find() -> Event | None:
            for event in self.events[start:]:
                if (event["type"] == match) if isinstance(match, str) else match(event):
                    return event
            return None

        async with asyncio.timeout(within), self._changed:
            while (found := find()) is None:
                await self._changed.wait()

        return found

    def of_type(self, event_type: str) -> list[Event]:
        """Every collected event of one type."""
        return [e for e in self.events if e["type"] == event_type]
