"""
Finding calls again after a restart, a lost WebSocket or a dead engine.

The attempt id is the channel id, so Postgres and Asterisk can be compared
directly. After every (re)connect the ARI client hands over a snapshot of the
live channels:

- a call this process knows whose channel is gone ended while the socket was
  down: it is closed with what is known;
- an open attempt of this engine that the process does not know (it
  restarted) is re-adopted if its channel lives, else closed: answered if it
  was answered, cancelled if the originate was never sent, failed otherwise;
- attempts of engines that stopped renewing their leases are taken over the
  same way (``take_over``), from the heartbeat loop.

The contact of a closed attempt moves on by the campaign's retry policy, and a
recording left in state ``recording`` is queued by the archiver's orphan pass.
"""

import asyncio
from typing import Any

import structlog

from engine.ari import AriClient, AriError, AriNotFoundError, AriSnapshot, Channel
from engine.clock import Clock
from engine.dialer.calls import ANSWERED, ORIGINATING, RINGING, Call, CallRegistry
from engine.dialer.models import OpenAttempt
from engine.dialer.outcomes import Outcome
from engine.dialer.pacing import Pacer
from engine.dialer.repository import CallRepository
from engine.dialer.services import CallService, bridge_id_for

log = structlog.get_logger(__name__)


class Recovery:
    """Reconciles Postgres, this process and Asterisk."""

    def __init__(
        self,
        repo: CallRepository,
        registry: CallRegistry,
        service: CallService,
        pacer: Pacer,
        ari: AriClient,
        clock: Clock,
    ) -> None:
        self.repo = repo
        self.registry = registry
        self.service = service
        self.pacer = pacer
        self.ari = ari
        self.clock = clock
        self.synced = asyncio.Event()

    async def on_snapshot(self, snapshot: AriSnapshot) -> None:
        """Reconcile after an ARI (re)connect; sets ``synced`` the first time."""
        live = snapshot.channel_ids
        for call in self.registry:
            if call.originate_done and call.id not in live:
                await self._check_missing(call)
        adopted = closed = 0
        for attempt in await self.repo.open_attempts():
            if self.registry.get(attempt.id) is not None:
                continue
            if await self.settle(attempt, snapshot.channel(attempt.id)):
                adopted += 1
            else:
                closed += 1
        log.info("calls_resynced", adopted=adopted, closed=closed, live=len(live))
        self.synced.set()

    async def _check_missing(self, call: Call) -> None:
        # The snapshot may predate an originate that was still in flight, so
        # ask about this one channel before declaring it gone.
        try:
            await self.ari.get_channel(call.id)
        except AriNotFoundError:
            call.cause_txt = call.cause_txt or "channel gone while ari was down"
            await self.service.finish(call)
            if call.recording_name is not None:
                # Its RecordingFinished, if any, was lost with the socket.
                await self._recording_after_crash(call.recording_name)
        except AriError as exc:
            log.warning("call_check_failed", call_id=call.id, error=str(exc))

    async def adopt_answered(self, channel: Channel) -> bool:
        """
        A customer of an attempt this process does not know answered.

        That happens after a restart under a new engine id, before the old
        one's leases run out: the attempt is taken over and the call recorded
        and handled like any other. False if no open attempt has this id.
        """
        attempt = await self.repo.claim_attempt(channel.id)
        if attempt is None:
            return False
        log.warning("answered_call_taken_over", call_id=channel.id)

        return await self.settle(attempt, channel)

    async def take_over(self) -> int:
        """Adopt or close the open attempts of engines that stopped renewing."""
        taken = await self.repo.take_over_expired_attempts()
        for attempt in taken:
            try:
                channel: Channel | None = await self.ari.get_channel(attempt.id)
            except AriNotFoundError:
                channel = None
            await self.settle(attempt, channel)
        if taken:
            log.warning("attempts_taken_over", count=len(taken))

        return len(taken)

    async def settle(self, attempt: OpenAttempt, channel: Channel | None) -> bool:
        """Adopt an attempt whose channel lives (True) or close it (False)."""
        with structlog.contextvars.bound_contextvars(
            call_id=attempt.id, channel_id=attempt.id
        ):
            campaign = await self.repo.campaign(attempt.campaign_id)
            contact = await self.repo.contact(attempt.contact_id)
            if campaign is None or contact is None:
                log.error("attempt_orphaned")
                return False
            if channel is None:
                await self._close(attempt, campaign)
                return False
            call = Call(attempt.id, campaign, contact, attempt.attempt_no, "", self.ari)
            call.dialstatus = attempt.dialstatus
            call.originate_done = True
            self.registry.add(call)
            self.pacer.started(campaign.id)
            await self._adopt(call, attempt, channel)

        return True

    async def _close(self, attempt: OpenAttempt, campaign: Any) -> None:
        if attempt.answered_at is not None:
            outcome, why = Outcome.ANSWERED, "ended while engine was away"
        elif attempt.state == "created":
            outcome, why = Outcome.CANCELLED, "never originated"
        else:
            outcome, why = Outcome.FAILED, "result lost while engine was away"
        await self.repo.end_attempt(
            attempt.id, campaign, outcome, self.clock.now(), cause_txt=why
        )
        recording = await self.repo.recording_of(attempt.id)
        if recording is not None:
            await self._recording_after_crash(recording[1])
        log.info("attempt_closed_on_recovery", outcome=outcome.value, reason=why)

    async def _recording_after_crash(self, name: str) -> None:
        # The channel is gone, so the recording is complete on Asterisk, unless
        # the engine died between writing the row and starting the recording.
        try:
            await self.ari.get_stored_recording(name)
        except AriNotFoundError:
            if not await self._live_recording(name):
                await self.repo.recording_failed_to_start(
                    name, "recording never started: engine stopped"
                )
                log.error("recording_never_started", recording=name)
                return
        await self.service.recording_finished(name)

    async def _live_recording(self, name: str) -> bool:
        try:
            await self.ari.get_live_recording(name)
        except AriNotFoundError:
            return False

        return True

    async def _ensure_recording(self, call: Call) -> None:
        # An adopted answered call must be recording; start it if the engine
        # died before it could.
        name = call.recording_name
        if name is None or call.bridge_id is None or await self._live_recording(name):
            return
        try:
            await self.ari.get_stored_recording(name)
            return
        except AriNotFoundError:
            pass
        try:
            await self.ari.record_bridge(call.bridge_id, name, if_exists="overwrite")
        except AriError as exc:
            await self.repo.recording_failed_to_start(name, str(exc))
            raise
        log.warning("recording_restarted", recording=name)

    async def _adopt(self, call: Call, attempt: OpenAttempt, channel: Channel) -> None:
        recording = await self.repo.recording_of(call.id)
        in_stasis = channel.dialplan.app_name == "Stasis"
        if attempt.answered_at is not None or recording is not None:
            call.transition(ANSWERED)
            call.answered_at = attempt.answered_at or self.clock.now()
            call.bridge_id = attempt.bridge_id or bridge_id_for(call.id)
            if recording is not None:
                call.recording_id, call.recording_name = recording
            call.handler_task = self.service.spawn(self._resume(call))
        elif channel.state == "Up" and in_stasis:
            # Answered while nobody listened: record it now, then carry on.
            call.transition(ORIGINATING)
            call.transition(call.state.stasis_started())
            try:
                await self.service.answer(call)
            except Exception:
                log.exception("adopted_call_answer_failed")
                await self.service.hangup_safely(call)
        else:
            call.transition(RINGING if channel.state == "Ringing" else ORIGINATING)
        log.info("call_adopted", state=call.state.name)

    async def _resume(self, call: Call) -> None:
        # A handler that can pick an answered call up again says so with
        # ``on_resumed``; otherwise the interrupted call is ended cleanly.
        resume = getattr(self.service.answer_handler, "on_resumed", None)
        try:
            await self._ensure_recording(call)
            if resume is not None:
                await resume(call)
            else:
                await call.hangup()
        except AriNotFoundError:
            log.info("adopted_call_gone", call_id=call.id)
        except Exception:
            log.exception("adopted_call_resume_failed", call_id=call.id)
            await self.service.hangup_safely(call)
