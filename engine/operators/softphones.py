"""
The engine side of operator sessions: softphone legs, the holding bridge, call hand-off.

On login the web app (or any process) writes a 'connecting' session and
NOTIFYs; an engine claims it, originates the operator's softphone
(``PJSIP/6001``) into the Stasis app with args ``operator,<session id>`` and,
once it answers, parks the leg in this engine's holding bridge: the session
is ready. The leg stays up for the whole shift, so handing a customer over is
two bridge operations, not a new call that has to ring.

The leg ending (``StasisEnd``: the operator hung up, the phone dropped) logs
the operator out; a customer on the line with them is hung up rather than left
in silence. A session logged out from the web is noticed on the next tick and
its leg hung up. Wrap-ups that have run their time are flipped to ready on each
tick; routing already treats them as ready, the flip is for the board.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from engine.ari import AriClient, AriError, AriNotFoundError, AriSnapshot, Event
from engine.clock import Clock
from engine.db.audit import audit
from engine.operators.exceptions import SessionStateError
from engine.operators.routing import Claim
from engine.operators.sessions import (
    NOTIFY_CHANNEL,
    Session,
    SessionRepository,
    SessionState,
    transition,
)
from engine.operators.survey import SurveyCall, SurveyRunner, SurveySettings

log = structlog.get_logger(__name__)

# NOTIFY payload asking the engine that carries a call to hang its customer up
HANGUP_PREFIX = "hangup:"
# how often (in ticks) to look for sessions left by engines that died
SWEEP_EVERY_TICKS = 60


@dataclass
class ActiveCall:
    """A customer call bridged to an operator on this engine."""

    call_id: str
    session_id: int
    operator_id: str
    channel_id: str
    bridge_id: str
    wrap_up_s: float
    campaign_id: int
    # asked of the customer when the operator leaves first (None: no survey)
    survey: SurveySettings | None = None
    # true once the operator's leg is in the call's bridge
    bridged: bool = False


class SoftphoneManager:
    """Keeps this engine's operators' softphone legs and moves them between bridges."""

    def __init__(
        self,
        client: AriClient,
        pool: asyncpg.Pool,
        clock: Clock,
        *,
        engine_id: str,
        ari_url: str,
        ring_timeout_s: int = 20,
        wrap_up_s: float = 30.0,
        poll_interval_s: float = 0.5,
    ) -> None:
        self.client = client
        self.pool = pool
        self.clock = clock
        self.engine_id = engine_id
        self.ari_url = ari_url
        self.ring_timeout_s = ring_timeout_s
        self.wrap_up_s = wrap_up_s
        self.sessions = SessionRepository(pool)
        self.holding_bridge_id = f"holding-{uuid.uuid4().hex[:12]}"
        self._poll_interval = poll_interval_s
        self._legs: dict[str, int] = {}  # softphone channel id -> session id
        self._pending: dict[str, int] = {}  # ringing softphone -> session id
        self._calls: dict[str, ActiveCall] = {}  # customer channel id -> call
        self._wake = asyncio.Event()
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._holding_ready = False
        self._ticks = 0
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self.surveys = SurveyRunner(client, pool, clock)
        # more work for each tick (supervision requests), run after the logins
        self.extra_ticks: list[Callable[[], Awaitable[None]]] = []

    # lifecycle

    async def start(self) -> None:
        """Subscribe to events, log out dead engines' operators, start polling."""
        await self._sweep_dead_engines()
        self._unsubscribe.append(self.client.on_reconnect(self.on_reconnect))
        for event_type, handler in (
            ("StasisStart", self.on_stasis_start),
            ("StasisEnd", self.on_stasis_end),
            ("ChannelDestroyed", self.on_channel_destroyed),
        ):
            self._unsubscribe.append(self.client.on(event_type, handler))
        self._unsubscribe.extend(self.surveys.subscribe())
        self._listener = await self.pool.acquire()
        await self._listener.add_listener(NOTIFY_CHANNEL, self._on_notify)
        self._task = asyncio.create_task(self._poll_loop(), name="operator-softphones")
        log.info("softphone_manager_started", engine_id=self.engine_id)

    async def stop(self) -> None:
        """Log out this engine's operators, drop their legs and the bridge."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            await self._listener.remove_listener(NOTIFY_CHANNEL, self._on_notify)
            await self.pool.release(self._listener)
            self._listener = None
        for channel_id, session_id in list(self._legs.items()):
            await self.log_out(session_id, "engine_stopped", actor="system")
            await self._hangup(channel_id)
        for remove in self._unsubscribe:
            remove()
        for task in list(self._side_tasks):
            task.cancel()
        await asyncio.gather(*self._side_tasks, return_exceptions=True)
        if self._holding_ready:
            with contextlib.suppress(AriError):
                await self.client.destroy_bridge(self.holding_bridge_id)
        log.info("softphone_manager_stopped")

    def wake(self) -> None:
        """Run a tick now (a login was requested in this process)."""
        self._wake.set()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload.startswith(HANGUP_PREFIX):
            call_id = payload.removeprefix(HANGUP_PREFIX)
            if call_id in self._calls:
                self._spawn(self.operator_left(call_id))
            return
        self._wake.set()

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("softphone_tick_failed")
            # Not wait_for: on Python 3.11 it swallows a cancel that lands just
            # as the wake-up fires (a NOTIFY during stop()), and the loop, and
            # so stop(), would then run forever. timeout() lets it through.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()
            self._wake.clear()

    async def tick(self) -> None:
        """Dial new logins, end wrap-ups whose time is up, drop logged-out legs."""
        if not self.client.connected.is_set():
            return
        if not self._holding_ready:
            await self.client.create_bridge(
                self.holding_bridge_id, type="holding", name="operators-holding"
            )
            self._holding_ready = True
        for session in await self.sessions.claim_connecting(
            self.engine_id, self.ari_url
        ):
            await self._dial(session)
        await self._finish_wrap_ups()
        await self._drop_logged_out()
        self._ticks += 1
        if self._ticks % SWEEP_EVERY_TICKS == 0:
            await self._sweep_dead_engines()
        for extra in self.extra_ticks:
            await extra()

    async def on_reconnect(self, snapshot: AriSnapshot) -> None:
        """After a reconnect: legs that vanished meanwhile end their sessions."""
        live = snapshot.channel_ids
        if snapshot.restarted or self.holding_bridge_id not in {
            b.id for b in snapshot.bridges
        }:
            self._holding_ready = False
        for channel_id, session_id in list(self._legs.items()):
            if channel_id not in live:
                self._legs.pop(channel_id, None)
                await self.log_out(session_id, "softphone_lost")
        for channel_id, session_id in list(self._pending.items()):
            if channel_id not in live:
                self._pending.pop(channel_id, None)
                await self.log_out(session_id, "softphone_lost")
        self.wake()

    async def _sweep_dead_engines(self) -> None:
        """Log out sessions held by engines that stopped heart-beating."""
        rows = await self.pool.fetch(
            "SELECT s.id, s.channel_id, s.ari_url FROM operator_sessions s"
            " WHERE s.state <> 'logged_out'"
            " AND s.engine_id IS NOT NULL AND s.engine_id <> $1"
            " AND NOT EXISTS (SELECT 1 FROM engines e WHERE e.id = s.engine_id"
            "  AND e.heartbeat_at > now() - interval '5 minutes')",
            self.engine_id,
        )
        for row in rows:
            await self.log_out(row["id"], "engine_lost", actor="system")
            # the dead engine's leg may still sit in Stasis on our Asterisk
            if row["channel_id"] and row["ari_url"] == self.ari_url:
                await self._hangup(row["channel_id"])

    # login

    async def _dial(self, session: Session) -> None:
        if session.endpoint is None:
            await self.log_out(session.id, "no_softphone_endpoint")
            return
        channel_id = f"op-{session.id}-{uuid.uuid4().hex[:8]}"
        self._pending[channel_id] = session.id
        try:
            await self.client.originate(
                session.endpoint,
                channel_id=channel_id,
                app_args=("operator", str(session.id)),
                caller_id=f'"outdial" <{session.operator_id}>',
                timeout=self.ring_timeout_s,
            )
        except AriError as exc:
            self._pending.pop(channel_id, None)
            log.warning(
                "softphone_dial_failed", session_id=session.id, status=_status(exc)
            )
            await self.log_out(session.id, "softphone_unreachable")
            return
        log.info("softphone_dialled", session_id=session.id, channel_id=channel_id)

    async def on_stasis_start(self, event: Event) -> None:
        """A softphone answered the login call, or dialled the login extension."""
        if not event.args or event.channel is None:
            return
        if event.args[0] == "login":
            await self._on_dial_in(event.channel.id, event.channel.name)
            return
        if event.args[0] != "operator":
            return
        channel_id = event.channel.id
        session_id = self._pending.pop(channel_id, None)
        if session_id is None:
            log.info("softphone_leg_refused", channel_id=channel_id)
            await self._hangup(channel_id)
            return
        try:
            await self._park_new_leg(session_id, channel_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # never leave a phone stuck in Stasis with nobody serving it
            log.exception("softphone_park_failed", session_id=session_id)
            self._legs.pop(channel_id, None)
            await self._hangup(channel_id)
            await self.log_out(session_id, "engine_error")

    async def _park_new_leg(self, session_id: int, channel_id: str) -> None:
        try:
            await self.client.add_channel(
                self.holding_bridge_id, channel_id, role="participant"
            )
        except AriNotFoundError:
            log.info("softphone_dropped_before_parking", channel_id=channel_id)
            await self.log_out(session_id, "softphone_dropped")
            return
        self._legs[channel_id] = session_id
        session = await self.sessions.connected(
            session_id, channel_id, self.holding_bridge_id, self.clock.now()
        )
        await audit(
            self.pool,
            session.operator_id,
            "operator_session_started",
            "operator_session",
            session_id,
            channel_id=channel_id,
        )
        log.info(
            "operator_parked", session_id=session_id, operator_id=session.operator_id
        )

    async def _on_dial_in(self, channel_id: str, channel_name: str) -> None:
        """
        The operator dialled the login extension (``Stasis(outdial,login)``).

        The SIP endpoint authenticated the phone; the account behind it must
        be usable (not locked, password not expired). A session the web app
        opened and no engine has dialled yet is taken over; else one opens.
        """
        endpoint = channel_name.rsplit("-", 1)[0]
        session_id = await self._dial_in_session(endpoint)
        if session_id is None:
            log.warning("softphone_login_refused", channel_id=channel_id)
            await self._hangup(channel_id)
            return
        try:
            await self.client.answer(channel_id)
        except AriNotFoundError:
            await self.log_out(session_id, "softphone_dropped")
            return
        await self._park_new_leg(session_id, channel_id)

    async def _dial_in_session(self, endpoint: str) -> int | None:
        account = await self.pool.fetchrow(
            "SELECT id FROM operators WHERE endpoint = $1 AND locked_at IS NULL"
            " AND NOT must_change_password AND password_expires_at > $2",
            endpoint,
            self.clock.now(),
        )
        if account is None:
            return None
        taken: int | None = await self.pool.fetchval(
            "UPDATE operator_sessions SET engine_id = $2, ari_url = $3"
            " WHERE operator_id = $1 AND state = 'connecting' AND engine_id IS NULL"
            " RETURNING id",
            account["id"],
            self.engine_id,
            self.ari_url,
        )
        if taken is not None:
            return taken
        try:
            session = await self.sessions.open(
                account["id"],
                None,
                self.clock.now(),
                engine=(self.engine_id, self.ari_url),
            )
        except SessionStateError:
            return None
        await audit(
            self.pool,
            account["id"],
            "operator_login",
            "operator",
            account["id"],
            method="softphone",
        )

        return session.id

    # legs ending

    async def on_stasis_end(self, event: Event) -> None:
        """An operator leg or a bridged customer left the app."""
        if event.channel is None:
            return
        channel_id = event.channel.id
        if channel_id in self._calls:
            await self.finish_call(channel_id, "customer_hung_up")
        session_id = self._legs.pop(channel_id, None)
        if session_id is not None:
            await self._on_leg_lost(session_id, channel_id)

    async def on_channel_destroyed(self, event: Event) -> None:
        """A softphone that never answered the login call."""
        if event.channel is None:
            return
        session_id = self._pending.pop(event.channel.id, None)
        if session_id is not None:
            log.info("softphone_not_answered", session_id=session_id, cause=event.cause)
            await self.log_out(session_id, "softphone_no_answer")
        elif event.channel.id in self._calls:
            await self.finish_call(event.channel.id, "customer_hung_up")

    async def _on_leg_lost(self, session_id: int, channel_id: str) -> None:
        call = next(
            (c for c in self._calls.values() if c.session_id == session_id), None
        )
        if call is not None:
            self._calls.pop(call.call_id, None)
            log.warning("operator_dropped_mid_call", session_id=session_id)
            await self.close_operator_call(call.call_id)
            await self._release_customer(call)
        await self.log_out(session_id, "softphone_dropped")

    async def log_out(
        self, session_id: int, reason: str, *, actor: str | None = None
    ) -> None:
        """End a session (idempotent) and audit the logout."""
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            row = await transition(
                conn, session_id, SessionState.LOGGED_OUT, now, reason=reason
            )
            if row is None:
                return
            await audit(
                conn,
                actor or row["operator_id"],
                "operator_logout",
                "operator_session",
                session_id,
                reason=reason,
            )
        log.info("operator_logged_out", session_id=session_id, reason=reason)

    # calls

    async def connect_call(
        self,
        claim: Claim,
        call_id: str,
        bridge_id: str,
        wrap_up_s: float | None,
        campaign_id: int,
        *,
        survey: SurveySettings | None = None,
    ) -> bool:
        """Move a claimed operator's leg into the customer's bridge."""
        active = ActiveCall(
            call_id=call_id,
            session_id=claim.session_id,
            operator_id=claim.operator_id,
            channel_id=claim.channel_id,
            bridge_id=bridge_id,
            wrap_up_s=self.wrap_up_s if wrap_up_s is None else wrap_up_s,
            campaign_id=campaign_id,
            survey=survey,
        )
        self._calls[call_id] = active
        try:
            if claim.holding_bridge_id:
                with contextlib.suppress(AriNotFoundError):
                    await self.client.remove_channel(
                        claim.holding_bridge_id, claim.channel_id
                    )
            await self.client.add_channel(bridge_id, claim.channel_id, role="operator")
            active.bridged = True
        except AriError as exc:
            self._calls.pop(call_id, None)
            log.warning(
                "operator_bridge_failed",
                session_id=claim.session_id,
                status=_status(exc),
                error=str(exc),
            )
            await self._recover_leg(claim)
            return False
        if call_id not in self._calls:
            # the customer left while the leg was being moved
            await self._park(claim.channel_id, bridge_id)

        return True

    async def _recover_leg(self, claim: Claim) -> None:
        """After a failed hand-off: park the leg again, or log out if it is gone."""
        try:
            await self.client.add_channel(self.holding_bridge_id, claim.channel_id)
        except AriError:
            self._legs.pop(claim.channel_id, None)
            await self.log_out(claim.session_id, "softphone_dropped")
            return
        await self.sessions.transition(
            claim.session_id, SessionState.WRAP_UP, self.clock.now()
        )

    async def finish_call(self, call_id: str, reason: str) -> None:
        """The customer is gone: back to holding, wrap-up, then ready."""
        call = self._calls.pop(call_id, None)
        if call is None:
            return
        await self._park(call.channel_id, call.bridge_id)
        await self.close_operator_call(call_id)
        async with self.pool.acquire() as conn, conn.transaction():
            await transition(
                conn,
                call.session_id,
                SessionState.WRAP_UP,
                self.clock.now(),
                reason=reason,
                wrap_up_s=call.wrap_up_s,
            )
        log.debug("operator_wrap_up_started", session_id=call.session_id)

    async def _park(self, channel_id: str, bridge_id: str) -> None:
        """Move an operator leg from a call bridge back to the holding bridge."""
        with contextlib.suppress(AriError):
            await self.client.remove_channel(bridge_id, channel_id)
        try:
            await self.client.add_channel(self.holding_bridge_id, channel_id)
        except AriError:
            log.info("operator_leg_lost", channel_id=channel_id)

    async def hangup_customer(self, call_id: str) -> bool:
        """The operator ends the call (the customer hears the survey, if any)."""
        return await self.operator_left(call_id)

    async def operator_left(self, call_id: str) -> bool:
        """
        The operator leaves a call the customer is still on.

        Without a survey the customer is hung up (the operator's wrap-up
        follows from the customer's end). With one, the operator goes to
        wrap-up at once and the customer is asked the survey question in the
        background, then hung up.
        """
        call = self._calls.get(call_id)
        if call is None:
            return False
        if call.survey is None:
            await self._hangup(call_id)
            return True
        await self.finish_call(call_id, "operator_hung_up")
        await self._release_customer(call)

        return True

    async def _release_customer(self, call: ActiveCall) -> None:
        """The operator is gone: survey the customer if asked, else hang up."""
        if call.survey is None or not call.bridged:
            await self._hangup(call.call_id)
            return
        survey = SurveyCall(call.call_id, call.campaign_id, call.operator_id)
        self._spawn(self.surveys.run(survey, call.survey))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` beside the event handlers; stop() cancels what is left."""
        task = asyncio.create_task(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def bridged_count(self, campaign_id: int) -> int:
        """Calls of a campaign with an operator on this engine now."""
        return sum(1 for c in self._calls.values() if c.campaign_id == campaign_id)

    def active_call(self, call_id: str) -> ActiveCall | None:
        """The bridged call on this engine, if any."""
        return self._calls.get(call_id)

    async def close_operator_call(self, call_id: str) -> None:
        """Stamp the end of the operator side of a call (idempotent)."""
        await self.pool.execute(
            "UPDATE operator_calls SET ended_at = $2 WHERE call_id = $1"
            " AND ended_at IS NULL",
            call_id,
            self.clock.now(),
        )

    # housekeeping

    async def _finish_wrap_ups(self) -> None:
        now = self.clock.now()
        rows = await self.pool.fetch(
            "SELECT id FROM operator_sessions WHERE engine_id = $1"
            " AND state = 'wrap_up' AND wrap_up_until <= $2",
            self.engine_id,
            now,
        )
        for row in rows:
            async with self.pool.acquire() as conn, conn.transaction():
                await transition(conn, row["id"], SessionState.READY, now)

    async def _drop_logged_out(self) -> None:
        if not self._legs:
            return
        rows = await self.pool.fetch(
            "SELECT channel_id FROM operator_sessions WHERE state = 'logged_out'"
            " AND channel_id = ANY($1::text[])",
            list(self._legs),
        )
        for row in rows:
            self._legs.pop(row["channel_id"], None)
            await self._hangup(row["channel_id"])

    async def _hangup(self, channel_id: str) -> None:
        try:
            await self.client.hangup(channel_id)
        except AriNotFoundError:
            log.info("channel_already_hung_up", channel_id=channel_id)
        except AriError as exc:
            log.warning("hangup_failed", channel_id=channel_id, status=_status(exc))


def _status(exc: AriError) -> int | None:
    return getattr(exc, "status", None)
