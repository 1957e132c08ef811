"""
The events WebSocket: connect, read, and reconnect forever.

Design of the loop (one task per client):

1. Upgrade ``/ari/events?app=<app>&subscribeAll=false`` on a session whose
   connector has ``force_close``: a failed upgrade (401, 400, or Asterisk's
   two responses written back to back on one connection for a missing
   ``app``) closes that TCP connection, and it is never pooled or reused.
   ``sock_read`` bounds a server that accepts and never answers the upgrade.
2. Once up, run the re-sync (``on_connect``: the client reads channels and
   bridges and hands a snapshot to its ``on_reconnect`` handlers). Events
   that arrive meanwhile are held and delivered right after the snapshot, so
   a handler never sees an event and then a snapshot older than it. Only
   then is ``connected`` set. A failed re-sync closes the socket: the next
   connect tries again.
3. Read text frames; each parsed ``Event`` goes to ``on_event``. aiohttp's
   heartbeat pings the server and ends the loop if the pongs stop.
4. When the socket ends (dropped, closed cleanly, heartbeat lost) or a connect
   fails, wait a backoff delay and go to 1. The backoff counter only resets
   after a connection that stayed up for a while, so a server that accepts
   and at once closes cleanly is retried ever more slowly, never in a tight
   loop.

``ApplicationReplaced`` means another WebSocket took this app name. Asterisk
keeps the old socket open but sends nothing more on it. Taking the app back
would kick the other socket, which would take it back in turn; so the stream
logs a warning, closes, sets ``replaced`` and stays down, unless
``reconnect_after_replaced`` gives a pause after which to try again.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import aiohttp
import orjson
import structlog
from yarl import URL

from engine.ari.backoff import Backoff
from engine.ari.exceptions import AriError
from engine.ari.models import Event, parse_event

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# No receive timeout (the heartbeat watches the line); a short wait for the
# server's answer to our close frame, which a dead peer never sends.
_WS_TIMEOUT = aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0)


class EventStream:
    """The reconnecting events WebSocket of one ARI application."""

    def __init__(
        self,
        base_url: str,
        auth_header: str,
        app: str,
        *,
        on_event: Callable[[Event], None],
        on_connect: Callable[[], Awaitable[object]],
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        heartbeat: float = 20.0,
        connect_timeout: float = 10.0,
        reconnect_after_replaced: float | None = None,
    ) -> None:
        url = URL(base_url.rstrip("/") + "/ari/events")
        self.url = url.with_user(None).with_password(None)
        self.app = app
        self._headers = {"Authorization": auth_header}
        self._on_event = on_event
        self._on_connect = on_connect
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._heartbeat = heartbeat
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=connect_timeout
        )
        self._reconnect_after_replaced = reconnect_after_replaced
        self.connected = asyncio.Event()
        self.replaced = asyncio.Event()
        self.connections = 0
        self._held: list[Event] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The connect/read/reconnect task; done once the stream gave up."""
        return self._task

    def start(self) -> None:
        """Start the connect/read/reconnect task (again, if it had stopped)."""
        if self._task is None or self._task.done():
            self.replaced.clear()
            self._task = asyncio.create_task(self._run(), name=f"ari-events-{self.app}")

    async def stop(self) -> None:
        """Close the socket and stop reconnecting."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.connected.clear()

    async def _run(self) -> None:
        connector = aiohttp.TCPConnector(force_close=True, limit=1)
        async with aiohttp.ClientSession(
            connector=connector, headers=self._headers, timeout=self._timeout
        ) as session:
            while True:
                await self._connect_and_read(session)
                if self.replaced.is_set():
                    if self._reconnect_after_replaced is None:
                        return
                    await self._sleep(self._reconnect_after_replaced)
                    self.replaced.clear()
                    continue
                delay = self.backoff.next_delay()
                log.warning(
                    "ari_reconnect_scheduled",
                    ari_app=self.app,
                    attempt=self.backoff.attempt,
                    delay=round(delay, 3),
                )
                await self._sleep(delay)

    async def _connect_and_read(self, session: aiohttp.ClientSession) -> None:
        ws = await self._connect(session)
        if ws is None:
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.connections += 1
        log.info("ari_ws_connected", ari_app=self.app, url=str(self.url))
        resync = asyncio.create_task(self._resync(ws), name="ari-resync")
        try:
            await self._read(ws)
        finally:
            self.connected.clear()
            resync.cancel()
            # wait() neither raises the resync's cancellation nor swallows
            # ours, should stop() arrive right now.
            await asyncio.wait([resync])
            self._flush_held()
            await ws.close()
        lived = loop.time() - started
        self.backoff.connection_ended(lived)
        log.info(
            "ari_ws_disconnected",
            ari_app=self.app,
            code=None if ws.close_code is None else int(ws.close_code),
            lived_s=round(lived, 3),
            error=_describe(ws.exception()),
        )

    async def _connect(
        self, session: aiohttp.ClientSession
    ) -> aiohttp.ClientWebSocketResponse | None:
        params = {"app": self.app, "subscribeAll": "false"}
        try:
            return await session.ws_connect(
                self.url,
                params=params,
                heartbeat=self._heartbeat,
                autoping=True,
                timeout=_WS_TIMEOUT,
            )
        except aiohttp.WSServerHandshakeError as exc:
            log.warning(
                "ari_ws_refused",
                ari_app=self.app,
                status=exc.status,
                reason=exc.message,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("ari_ws_connect_failed", ari_app=self.app, error=_describe(exc))

        return None

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self._on_text(msg.data)
                if self.replaced.is_set():
                    return
            elif msg.type is aiohttp.WSMsgType.ERROR:
                return

    def _on_text(self, data: str) -> None:
        try:
            event = parse_event(data)
        except (ValueError, orjson.JSONDecodeError) as exc:
            log.warning("ari_event_dropped", ari_app=self.app, error=str(exc))
            return
        log.debug(
            "ari_event_received", event_type=event.type, channel_id=event.channel_id
        )
        if event.type == "ApplicationReplaced":
            log.warning("ari_app_replaced", ari_app=self.app)
            self.replaced.set()
        if self._held is not None:
            self._held.append(event)
        else:
            self._on_event(event)

    async def _resync(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._held = []
        try:
            await self._on_connect()
            # Ready only once in sync: events are no longer held from here.
            self.connected.set()
        except AriError as exc:
            log.warning("ari_resync_failed", ari_app=self.app, error=_describe(exc))
            await ws.close()
        except Exception:
            log.exception("ari_resync_failed", ari_app=self.app)
            await ws.close()
        finally:
            self._flush_held()

    def _flush_held(self) -> None:
        held, self._held = self._held, None
        for event in held or ():
            self._on_event(event)


def _describe(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    text = str(exc)

    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
