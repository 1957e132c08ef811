"""
Supervision: a director listens in on, whispers to, or barges into a live call.

Listen and whisper use an ARI snoop channel on the operator's leg (``spy=both``
hears both parties: the operator's voice in, the customer's voice out). For
whisper the snoop also injects audio towards the operator (``whisper=out``),
so the customer never hears the director. The snoop channel and the
director's softphone leg share a small mixing bridge of their own. Barge puts
the director's leg straight into the call's bridge, where all three talk.

Any process may ask (the web app, ``outdial supervise``): ``request`` writes
the session row, audited, naming the engine that holds the operator's leg,
and NOTIFYs; that engine's ``Supervisor`` calls the director's softphone and
joins it. Ending works the same way, or by either leg hanging up. So the row
says who listened to which call, in which mode, from when to when, before
any audio flows.
"""

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg
import structlog

from engine.ari import AriClient, AriError, Event
from engine.clock import Clock
from engine.db.audit import audit
from engine.operators.accounts import Account
from engine.operators.exceptions import PermissionDeniedError, SupervisionError
from engine.operators.sessions import NOTIFY_CHANNEL

log = structlog.get_logger(__name__)


class Mode(StrEnum):
    """How the director joins the call."""

    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


@dataclass
class Supervision:
    """One supervision session this engine carries."""

    id: int
    call_id: str
    mode: Mode
    endpoint: str
    operator_channel: str
    call_bridge: str
    leg_id: str
    snoop_id: str | None = None
    bridge_id: str | None = None


_CALL = """
SELECT oc.operator_id, s.engine_id
FROM operator_calls oc
JOIN operator_sessions s ON s.id = oc.session_id
JOIN call_attempts a ON a.id = oc.call_id
WHERE oc.call_id = $1 AND oc.ended_at IS NULL AND a.state <> 'ended'
  AND s.state = 'on_call' AND s.call_id = oc.call_id
"""

_PENDING = """
SELECT v.id, v.call_id, v.mode, o.endpoint, s.channel_id AS operator_channel,
       oc.bridge_id AS call_bridge
FROM supervision_sessions v
JOIN operators o ON o.id = v.supervisor_id
JOIN operator_calls oc ON oc.call_id = v.call_id
JOIN operator_sessions s ON s.id = oc.session_id
WHERE v.engine_id = $1 AND v.ended_at IS NULL AND v.supervisor_channel_id IS NULL
"""


async def request(
    pool: asyncpg.Pool, now: datetime, director: Account, call_id: str, mode: Mode | str
) -> int:
    """Ask the engine carrying the call to join the director; the session id."""
    mode = Mode(mode)
    if not director.supervises:
        raise PermissionDeniedError(director.id, f"{mode} on call {call_id}")
    if not director.endpoint:
        raise SupervisionError(f"director {director.id} has no softphone endpoint")
    async with pool.acquire() as conn, conn.transaction():
        call = await conn.fetchrow(_CALL, call_id)
        if call is None or call["engine_id"] is None:
            raise SupervisionError(f"call {call_id} is not live with an operator")
        sup_id: int = await conn.fetchval(
            "INSERT INTO supervision_sessions (supervisor_id, call_id, operator_id,"
            " mode, engine_id, started_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " RETURNING id",
            director.id,
            call_id,
            call["operator_id"],
            mode.value,
            call["engine_id"],
            now,
        )
        await audit(
            conn,
            director.id,
            "supervision_started",
            "call_attempt",
            call_id,
            mode=mode.value,
            operator_id=call["operator_id"],
            supervision_id=sup_id,
        )
        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, f"sup:{sup_id}")
    log.info("supervision_requested", supervision_id=sup_id, call_id=call_id, mode=mode)

    return sup_id


async def end(
    pool: asyncpg.Pool,
    now: datetime,
    supervision_id: int,
    reason: str,
    actor: str | None,
) -> bool:
    """Close a session (idempotent); True when this call closed it."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE supervision_sessions SET ended_at = $2, end_reason = $3"
            " WHERE id = $1 AND ended_at IS NULL RETURNING supervisor_id, call_id",
            supervision_id,
            now,
            reason,
        )
        if row is None:
            return False
        await audit(
            conn,
            actor or row["supervisor_id"],
            "supervision_ended",
            "call_attempt",
            row["call_id"],
            supervision_id=supervision_id,
            reason=reason,
        )
        await conn.execute(
            "SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, f"sup:{supervision_id}"
        )
    log.info("supervision_ended", supervision_id=supervision_id, reason=reason)

    return True


class Supervisor:
    """The engine side: performs requested sessions on the calls it carries."""

    def __init__(
        self,
        client: AriClient,
        pool: asyncpg.Pool,
        clock: Clock,
        *,
        engine_id: str,
        ring_timeout_s: int = 20,
    ) -> None:
        self.client = client
        self.pool = pool
        self.clock = clock
        self.engine_id = engine_id
        self.ring_timeout_s = ring_timeout_s
        self._answered: dict[str, asyncio.Future[None]] = {}
        self._live: dict[int, Supervision] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._removers = [
            client.on("StasisStart", self.on_stasis_start),
            client.on("StasisEnd", self.on_stasis_end),
            client.on("ChannelDestroyed", self.on_stasis_end),
        ]

    async def close(self) -> None:
        """End every session this engine carries and stop listening to events."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sup_id in list(self._live):
            await self._finish(sup_id, "engine_stopped")
        for remove in self._removers:
            remove()

    async def tick(self) -> None:
        """Start requested sessions; tear down those ended elsewhere."""
        for row in await self.pool.fetch(_PENDING, self.engine_id):
            if row["id"] not in self._live:
                sup = Supervision(
                    id=row["id"],
                    call_id=row["call_id"],
                    mode=Mode(row["mode"]),
                    endpoint=row["endpoint"],
                    operator_channel=row["operator_channel"],
                    call_bridge=row["call_bridge"],
                    leg_id=f"sup-{row['id']}",
                )
                self._live[sup.id] = sup
                task = asyncio.create_task(self._perform(sup))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if self._live:
            ended = await self.pool.fetch(
                "SELECT id FROM supervision_sessions WHERE id = ANY($1::bigint[])"
                " AND ended_at IS NOT NULL",
                list(self._live),
            )
            for row in ended:
                await self._teardown(self._live.pop(row["id"]))

    def live(self) -> list[Supervision]:
        """The sessions this engine carries now."""
        return list(self._live.values())

    async def _perform(self, sup: Supervision) -> None:
        try:
            await self._dial(sup)
            await self._join(sup)
        except (AriError, TimeoutError, SupervisionError) as exc:
            log.warning("supervision_failed", supervision_id=sup.id, error=str(exc))
            await self._finish(sup.id, "failed")
            return
        await self.pool.execute(
            "UPDATE supervision_sessions SET snoop_channel_id = $2,"
            " supervisor_channel_id = $3, bridge_id = $4 WHERE id = $1",
            sup.id,
            sup.snoop_id,
            sup.leg_id,
            sup.bridge_id,
        )
        log.info("supervision_joined", supervision_id=sup.id, mode=sup.mode.value)

    async def _dial(self, sup: Supervision) -> None:
        answered = asyncio.get_running_loop().create_future()
        self._answered[sup.leg_id] = answered
        try:
            await self.client.originate(
                sup.endpoint,
                channel_id=sup.leg_id,
                app_args=("supervisor", str(sup.id)),
                caller_id=f'"supervision" <{sup.id}>',
                timeout=self.ring_timeout_s,
            )
            await asyncio.wait_for(answered, self.ring_timeout_s + 5)
        finally:
            self._answered.pop(sup.leg_id, None)

    async def _join(self, sup: Supervision) -> None:
        if sup.mode is Mode.BARGE:
            await self.client.add_channel(sup.call_bridge, sup.leg_id)
            return
        sup.snoop_id = f"snoop-{sup.id}"
        sup.bridge_id = f"supervision-{sup.id}"
        await self.client.snoop(
            sup.operator_channel,
            snoop_id=sup.snoop_id,
            spy="both",
            whisper="out" if sup.mode is Mode.WHISPER else "none",
            app_args=("snoop", str(sup.id)),
        )
        await self.client.create_bridge(
            sup.bridge_id, type="mixing", name="supervision"
        )
        await self.client.add_channel(sup.bridge_id, sup.snoop_id)
        await self.client.add_channel(sup.bridge_id, sup.leg_id)

    async def _finish(self, supervision_id: int, reason: str) -> None:
        sup = self._live.pop(supervision_id, None)
        if sup is not None:
            await self._teardown(sup)
        await end(self.pool, self.clock.now(), supervision_id, reason, None)

    async def _teardown(self, sup: Supervision) -> None:
        for channel_id in (sup.snoop_id, sup.leg_id):
            if channel_id:
                with contextlib.suppress(AriError):
                    await self.client.hangup(channel_id)
        if sup.bridge_id:
            with contextlib.suppress(AriError):
                await self.client.destroy_bridge(sup.bridge_id)

    async def on_stasis_start(self, event: Event) -> None:
        """The director's softphone answered."""
        if event.channel is None or not event.args or event.args[0] != "supervisor":
            return
        answered = self._answered.get(event.channel.id)
        if answered is not None and not answered.done():
            answered.set_result(None)

    async def on_stasis_end(self, event: Event) -> None:
        """The call or the director's leg ended: end the sessions it carried."""
        if event.channel is None:
            return
        channel_id = event.channel.id
        answered = self._answered.get(channel_id)
        if answered is not None and not answered.done():
            answered.set_exception(
                SupervisionError("director's softphone did not answer")
            )
        for sup in list(self._live.values()):
            if channel_id in (sup.call_id, sup.leg_id):
                reason = (
                    "call_ended" if channel_id == sup.call_id else "supervisor_left"
                )
                await self._finish(sup.id, reason)
