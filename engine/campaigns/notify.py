"""
Campaign state changes as they happen, over Postgres LISTEN/NOTIFY.

``engine.campaigns.repository.change_state`` sends
``NOTIFY outdial_campaign, '<id>:<state>'`` in the transaction that changes the
state. A dialer listens on its own connection (never a pooled one: a pool may
hand that connection to someone else) with either form::

    async with campaign_events(dsn) as queue:
        event = await queue.get()          # CampaignEvent(campaign_id, state)

    async with on_campaign_event(dsn, handler):   # async handler(event)
        ...

If the listening connection is lost, the listener reconnects (after
``reconnect_delay`` seconds, again and again) and then delivers
``CampaignEvent(None, None)``: changes may have been missed meanwhile, so the
receiver should re-read the state of every campaign it runs.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import structlog

from engine.campaigns.models import CampaignState

log = structlog.get_logger(__name__)

CHANNEL = "outdial_campaign"


@dataclass(frozen=True)
class CampaignEvent:
    """One state change; both fields None mean "re-read everything"."""

    campaign_id: int | None
    state: CampaignState | None

    @property
    def resync(self) -> bool:
        """True when events may have been missed while reconnecting."""
        return self.campaign_id is None


def parse_payload(payload: str) -> CampaignEvent | None:
    """The event in a NOTIFY payload ``'<id>:<state>'``, or None if malformed."""
    ident, _, state = payload.partition(":")
    try:
        return CampaignEvent(int(ident), CampaignState(state))
    except ValueError:
        return None


class CampaignListener:
    """A dedicated connection LISTENing on the campaign channel, reconnecting."""

    def __init__(self, dsn: str, *, reconnect_delay: float = 1.0) -> None:
        self.queue: asyncio.Queue[CampaignEvent] = asyncio.Queue()
        self._dsn = dsn
        self._delay = reconnect_delay
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "CampaignListener":
        await self._connect()
        self._task = asyncio.create_task(self._supervise(), name="campaign-listener")

        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            self._conn.remove_termination_listener(self._on_terminated)
            await self._conn.close()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        conn.add_termination_listener(self._on_terminated)
        await conn.add_listener(CHANNEL, self._on_notify)
        self._conn = conn
        log.info("campaign_listener_connected")

    def _on_notify(
        self, _conn: object, _pid: int, _channel: str, payload: object
    ) -> None:
        event = parse_payload(str(payload))
        if event is None:
            log.warning("campaign_notification_dropped", payload=str(payload)[:64])
            return
        self.queue.put_nowait(event)

    def _on_terminated(self, _conn: object) -> None:
        self._lost.set()

    async def _supervise(self) -> None:
        while True:
            await self._lost.wait()
            self._lost.clear()
            log.warning("campaign_listener_disconnected")
            while True:
                await asyncio.sleep(self._delay)
                try:
                    await self._connect()
                    break
                except (OSError, asyncpg.PostgresError) as exc:
                    log.warning("campaign_listener_reconnect_failed", error=str(exc))
            self.queue.put_nowait(CampaignEvent(None, None))


@contextlib.asynccontextmanager
async def campaign_events(
    dsn: str, *, reconnect_delay: float = 1.0
) -> AsyncIterator[asyncio.Queue[CampaignEvent]]:
    """A queue that receives every campaign state change while the block runs."""
    async with CampaignListener(dsn, reconnect_delay=reconnect_delay) as listener:
        yield listener.queue


@contextlib.asynccontextmanager
async def on_campaign_event(
    dsn: str,
    handler: Callable[[CampaignEvent], Awaitable[None]],
    *,
    reconnect_delay: float = 1.0,
) -> AsyncIterator[CampaignListener]:
    """Call ``await handler(event)`` for each change, in order, while the block runs."""
    async with CampaignListener(dsn, reconnect_delay=reconnect_delay) as listener:
        pump = asyncio.create_task(
            _pump(listener.queue, handler), name="campaign-events"
        )
        try:
            yield listener
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump


async def _pump(
    queue: asyncio.Queue[CampaignEvent],
    handler: Callable[[CampaignEvent], Awaitable[None]],
) -> None:
    while True:
        event = await queue.get()
        try:
            await handler(event)
        except Exception:
            log.exception(
                "campaign_event_handler_failed", campaign_id=event.campaign_id
            )
