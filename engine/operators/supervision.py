"""
Supervision: a director listens in on, whispers to, or barges into a live call.

Listen and whisper use an ARI snoop channel on the operator's leg (``spy=both``
hears both parties: the operator's voice in, the customer's voice out). For
whisper the snoop also injects audio towards the operator (``whisper=out``),
so the customer never hears the director. The snoop channel and the
director's softphone leg share a small mixing bridge of their own. Barge puts
the director's leg straight into the call's bridge, where all three talk.

The session row is written and audited before any audio flows: who listened
to which call, in which mode, from when to when.
"""

import asyncio
import contextlib
from dataclasses import dataclass
from enum import StrEnum

import asyncpg
import structlog

from engine.ari import AriClient, AriError, Event
from engine.clock import Clock
from engine.db.audit import audit
from engine.operators.accounts import Account
from engine.operators.exceptions import PermissionDeniedError, SupervisionError

log = structlog.get_logger(__name__)


class Mode(StrEnum):
    """How the director joins the call."""

    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


@dataclass
class Supervision:
    """One live supervision session."""

    id: int
    supervisor_id: str
    call_id: str
    mode: Mode
    leg_id: str
    snoop_id: str | None = None
    bridge_id: str | None = None


_CALL = """
SELECT oc.operator_id, oc.bridge_id, s.channel_id AS operator_channel
FROM operator_calls oc
JOIN operator_sessions s ON s.id = oc.session_id
JOIN call_attempts a ON a.id = oc.call_id
WHERE oc.call_id = $1 AND oc.ended_at IS NULL AND a.state <> 'ended'
"""


class Supervisor:
    """Starts and ends supervision sessions on calls this Asterisk carries."""

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
        self._removers = [
            client.on("StasisStart", self.on_stasis_start),
            client.on("StasisEnd", self.on_stasis_end),
            client.on("ChannelDestroyed", self.on_stasis_end),
        ]

    def close(self) -> None:
        """Stop listening to events (live sessions are left to ``stop``)."""
        for remove in self._removers:
            remove()

    async def start(
        self, director: Account, call_id: str, mode: Mode | str
    ) -> Supervision:
        """Call the director's softphone and join it to the call in ``mode``."""
        mode = Mode(mode)
        if not director.supervises:
            raise PermissionDeniedError(director.id, f"{mode} on call {call_id}")
        if not director.endpoint:
            raise SupervisionError(f"director {director.id} has no softphone endpoint")
        call = await self.pool.fetchrow(_CALL, call_id)
        if call is None:
            raise SupervisionError(f"call {call_id} is not live with an operator")
        sup = await self._open(director, call_id, call["operator_id"], mode)
        try:
            await self._dial(sup, director.endpoint)
            await self._join(sup, call["operator_channel"], call["bridge_id"])
        except (AriError, TimeoutError, SupervisionError) as exc:
            await self.stop(sup.id, "failed")
            raise SupervisionError(
                f"supervision of call {call_id} failed: {exc}"
            ) from exc
        await self.pool.execute(
            "UPDATE supervision_sessions SET snoop_channel_id = $2,"
            " supervisor_channel_id = $3, bridge_id = $4 WHERE id = $1",
            sup.id,
            sup.snoop_id,
            sup.leg_id,
            sup.bridge_id,
        )
        log.info(
            "supervision_started", supervision_id=sup.id, call_id=call_id, mode=mode
        )

        return sup

    async def _open(
        self, director: Account, call_id: str, operator_id: str, mode: Mode
    ) -> Supervision:
        async with self.pool.acquire() as conn, conn.transaction():
            sup_id = await conn.fetchval(
                "INSERT INTO supervision_sessions (supervisor_id, call_id, operator_id,"
                " mode, engine_id, started_at) VALUES ($1, $2, $3, $4, $5, $6)"
                " RETURNING id",
                director.id,
                call_id,
                operator_id,
                mode.value,
                self.engine_id,
                self.clock.now(),
            )
            await audit(
                conn,
                director.id,
                "supervision_started",
                "call_attempt",
                call_id,
                mode=mode.value,
                operator_id=operator_id,
                supervision_id=sup_id,
            )
        sup = Supervision(sup_id, director.id, call_id, mode, leg_id=f"sup-{sup_id}")
        self._live[sup_id] = sup

        return sup

    async def _dial(self, sup: Supervision, endpoint: str) -> None:
        answered = asyncio.get_running_loop().create_future()
        self._answered[sup.leg_id] = answered
        try:
            await self.client.originate(
                endpoint,
                channel_id=sup.leg_id,
                app_args=("supervisor", str(sup.id)),
                caller_id=f'"supervision" <{sup.call_id[:20]}>',
                timeout=self.ring_timeout_s,
            )
            await asyncio.wait_for(answered, self.ring_timeout_s + 5)
        finally:
            self._answered.pop(sup.leg_id, None)

    async def _join(
        self, sup: Supervision, operator_channel: str, call_bridge: str
    ) -> None:
        if sup.mode is Mode.BARGE:
            await self.client.add_channel(call_bridge, sup.leg_id)
            return
        sup.snoop_id = f"snoop-{sup.id}"
        sup.bridge_id = f"supervision-{sup.id}"
        await self.client.snoop(
            operator_channel,
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

    async def stop(self, supervision_id: int, reason: str = "ended") -> None:
        """Tear down the snoop, the director's leg and the bridge; log the end."""
        sup = self._live.pop(supervision_id, None)
        if sup is not None:
            for channel_id in (sup.snoop_id, sup.leg_id):
                if channel_id:
                    with contextlib.suppress(AriError):
                        await self.client.hangup(channel_id)
            if sup.bridge_id:
                with contextlib.suppress(AriError):
                    await self.client.destroy_bridge(sup.bridge_id)
        ended = await self.pool.fetchrow(
            "UPDATE supervision_sessions SET ended_at = $2, end_reason = $3"
            " WHERE id = $1 AND ended_at IS NULL RETURNING supervisor_id, call_id",
            supervision_id,
            self.clock.now(),
            reason,
        )
        if ended is not None:
            await audit(
                self.pool,
                ended["supervisor_id"],
                "supervision_ended",
                "call_attempt",
                ended["call_id"],
                supervision_id=supervision_id,
                reason=reason,
            )
            log.info("supervision_ended", supervision_id=supervision_id, reason=reason)

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
                await self.stop(sup.id, reason)

    def live(self) -> list[Supervision]:
        """The sessions running now."""
        return list(self._live.values())
