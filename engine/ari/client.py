"""
``AriClient``: the REST operations, the events WebSocket and the dispatcher of
one ARI application, behind one object.
"""

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import structlog
from pydantic import SecretStr

from engine.ari.backoff import Backoff
from engine.ari.dispatch import Dispatcher, EventHandler
from engine.ari.events import EventStream, Sleep
from engine.ari.models import (
    AriSnapshot,
    bridges_from_json,
    channels_from_json,
    parse_time,
)
from engine.ari.operations import AriOperations
from engine.ari.rest import AriRest, basic_auth_header
from engine.settings import Settings

log = structlog.get_logger(__name__)

SnapshotHandler = Callable[[AriSnapshot], Awaitable[None]]


class AriClient(AriOperations):
    """
    A typed asyncio client of one ARI application.

    Args:
        base_url: Asterisk's HTTP root without ``/ari``, e.g.
            ``http://127.0.0.1:8088``.
        username, password: ARI user (Basic auth; never logged).
        app: the Stasis application name this client receives events for.
        backoff, sleep: the reconnect delay policy and the sleep it uses;
            tests inject both so that nothing really waits.
        heartbeat: seconds between WebSocket pings.
        request_timeout: total seconds allowed for one REST request.
        connect_timeout: seconds allowed to open the WebSocket.
        reconnect_after_replaced: after ``ApplicationReplaced``, seconds to
            wait before taking the app back; None (default) stays down.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str | SecretStr,
        app: str,
        *,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        heartbeat: float = 20.0,
        request_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        reconnect_after_replaced: float | None = None,
    ) -> None:
        secret = (
            password.get_secret_value() if isinstance(password, SecretStr) else password
        )
        self.app = app
        self.rest = AriRest(base_url, username, secret, timeout=request_timeout)
        self.dispatcher = Dispatcher()
        self.stream = EventStream(
            base_url,
            basic_auth_header(username, secret),
            app,
            on_event=self.dispatcher.dispatch,
            on_connect=self.resync,
            backoff=backoff,
            sleep=sleep,
            heartbeat=heartbeat,
            connect_timeout=connect_timeout,
            reconnect_after_replaced=reconnect_after_replaced,
        )
        self._snapshot_handlers: list[SnapshotHandler] = []
        self._identity: tuple[str, str] | None = None
        self._snapshots = 0

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: object) -> "AriClient":
        """A client for the ARI server named by the engine settings."""
        return cls(
            settings.ari_url,
            settings.ari_username,
            settings.ari_password,
            settings.ari_app,
            **kwargs,  # type: ignore[arg-type]
        )

    @property
    def connected(self) -> asyncio.Event:
        """Set while the events WebSocket is up and its re-sync is done."""
        return self.stream.connected

    @property
    def replaced(self) -> asyncio.Event:
        """Set when another WebSocket took this app (``ApplicationReplaced``)."""
        return self.stream.replaced

    def on(self, event_type: str, handler: EventHandler) -> Callable[[], None]:
        """
        Call ``await handler(event)`` for each event of a type (``"*"``: all).

        Returns a function that removes the handler again.
        """
        return self.dispatcher.add(event_type, handler)

    def on_reconnect(self, handler: SnapshotHandler) -> Callable[[], None]:
        """Call ``await handler(snapshot)`` after every (re)connect."""
        self._snapshot_handlers.append(handler)

        def remove() -> None:
            if handler in self._snapshot_handlers:
                self._snapshot_handlers.remove(handler)

        return remove

    async def connect(self) -> None:
        """Start the events WebSocket task; it reconnects until ``close``."""
        self.stream.start()

    async def join(self) -> None:
        """Wait until every event received so far has been handled."""
        await self.dispatcher.join()

    async def close(self) -> None:
        """Stop the WebSocket, cancel pending handlers, close HTTP sessions."""
        await self.stream.stop()
        await self.dispatcher.close()
        await self.rest.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def resync(self) -> AriSnapshot:
        """Read live channels and bridges and hand them to ``on_reconnect``."""
        channels, bridges, info = await asyncio.gather(
            self.rest.request("GET", "/channels"),
            self.rest.request("GET", "/bridges"),
            self.rest.request(
                "GET", "/asterisk/info", params={"only": "system,status"}
            ),
        )
        identity = _identity(info)
        snapshot = AriSnapshot(
            channels=channels_from_json(channels or []),
            bridges=bridges_from_json(bridges or []),
            asterisk_id=identity[0],
            startup_time=parse_time(identity[1]),
            restarted=self._identity is not None and identity != self._identity,
            reconnect=self._snapshots > 0,
        )
        self._identity = identity
        self._snapshots += 1
        log.info(
            "ari_resynced",
            ari_app=self.app,
            channels=len(snapshot.channels),
            bridges=len(snapshot.bridges),
            restarted=snapshot.restarted,
        )
        await self._deliver(snapshot)

        return snapshot

    async def _deliver(self, snapshot: AriSnapshot) -> None:
        for handler in list(self._snapshot_handlers):
            try:
                await handler(snapshot)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "ari_reconnect_handler_failed",
                    handler=getattr(handler, "__qualname__", repr(handler)),
                )


def _identity(info: Any) -> tuple[str, str]:
    # Asterisk's entity id is usually derived from a MAC address and survives
    # a restart; the startup time does not. Together they tell a restart.
    info = info if isinstance(info, dict) else {}
    system, status = info.get("system") or {}, info.get("status") or {}

    return str(system.get("entity_id", "")), str(status.get("startup_time", ""))
