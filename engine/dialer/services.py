"""
What the dialer does with one call: place it, take the answer, close it.

Each step commits what a restarted engine needs before acting: the attempt
row before the originate, the recording row before the recording starts. A
call is closed exactly once (``finish``), from whichever signal comes first:
``ChannelDestroyed``, a failed originate, a refused gate, or recovery.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from engine.ari import (
    AriClient,
    AriConnectionError,
    AriError,
    AriNotFoundError,
    AriRequestError,
)
from engine.clock import Clock
from engine.dialer.calls import Call, CallRegistry
from engine.dialer.models import Campaign, Contact
from engine.dialer.outcomes import Disposition, Outcome
from engine.dialer.pacing import Pacer
from engine.dialer.repository import CallRepository
from engine.dialer.seams import AnswerHandler, DialGate, GateDecision, Stage
from engine.logging import mask_phone

log = structlog.get_logger(__name__)

# After an originate whose response was lost, how long to wait for events
# before asking Asterisk whether the channel exists at all.
_VERIFY_AFTER_S = 5.0
# A gate that crashes refuses the contact for this long: never dial unchecked.
_GATE_ERROR_RETRY = timedelta(seconds=60)


@dataclass(frozen=True)
class DialPlan:
    """How calls are addressed: endpoint template, media, recording format."""

    dial_template: str
    recording_format: str = "wav"

    def endpoint(self, phone: str) -> str:
        """The ARI endpoint for an E.164 number."""
        return self.dial_template.format(number=phone.lstrip("+"), e164=phone)


def refusal_disposition(decision: GateDecision) -> Disposition:
    """Where a refused contact goes: back at ``retry_at``, or closed if final."""
    if decision.final or decision.retry_at is None:
        return Disposition("cancelled", None, counted=False)

    return Disposition("pending", decision.retry_at, counted=False)


def bridge_id_for(attempt_id: str) -> str:
    """The id of the mixing bridge of an attempt."""
    return f"bridge-{attempt_id}"


def recording_name_for(campaign_id: int, attempt_id: str) -> str:
    """The ARI recording name of an attempt (flat: no sub-folders on Asterisk)."""
    return f"outdial-{campaign_id}-{attempt_id}"


class CallService:
    """Places calls, runs answers and closes attempts."""

    def __init__(
        self,
        *,
        ari: AriClient,
        repo: CallRepository,
        registry: CallRegistry,
        pacer: Pacer,
        clock: Clock,
        plan: DialPlan,
        gates: Sequence[DialGate],
        answer_handler: AnswerHandler,
        on_recording_done: Callable[[], None] = lambda: None,
    ) -> None:
        self.ari = ari
        self.repo = repo
        self.registry = registry
        self.pacer = pacer
        self.clock = clock
        self.plan = plan
        self.gates = list(gates)
        self.answer_handler = answer_handler
        self.on_recording_done = on_recording_done
        self._tasks: set[asyncio.Task[None]] = set()

    # Placing a call -----------------------------------------------------------

    async def place(self, campaign: Campaign, contact: Contact) -> Call | None:
        """
        Dial one leased contact; the caller already counted it in the pacer.

        Returns the call once the originate is sent, or None when a gate
        refused it or the originate failed at once.
        """
        decision = await self.gate(campaign, contact, "lease")
        if not decision.allowed:
            self.pacer.ended(campaign.id)
            await self._refuse(contact, decision, "lease")
            return None
        call = await self._create(campaign, contact)
        try:
            decision = await self.gate(campaign, contact, "originate")
            if not decision.allowed:
                # The contact moves to the gate's retry time in the same
                # transaction that closes the attempt: never due in between.
                await self.finish(
                    call,
                    Outcome.CANCELLED,
                    cause_txt=decision.reason,
                    disposition=refusal_disposition(decision),
                )
                self._log_refusal(contact, decision, "originate")
                return None
            sent = await self._originate(call)
        except Exception:
            log.exception("call_place_failed", call_id=call.id)
            await self.finish(call, Outcome.FAILED, cause_txt="engine error")
            return None

        return call if sent else None

    async def gate(
        self, campaign: Campaign, contact: Contact, stage: Stage
    ) -> GateDecision:
        """Ask every gate in turn; the first refusal wins."""
        if not self.gates and stage != "originate":
            return GateDecision.allow()
        now = self.clock.now()
        try:
            async with self.repo.pool.acquire() as conn:
                if stage == "originate":
                    # A pause or stop committed by now holds this call even if
                    # its NOTIFY has not reached the engine yet.
                    state = await self.repo.campaign_state(conn, campaign.id)
                    if state != "running":
                        return GateDecision(False, f"campaign {state}", now)
                for gate in self.gates:
                    decision = await gate.check(conn, campaign, contact, now, stage)
                    if not decision.allowed:
                        return decision
        except Exception:
            log.exception("dial_gate_failed", contact_id=contact.id, stage=stage)
            return GateDecision(False, "gate error", now + _GATE_ERROR_RETRY)

        return GateDecision.allow()

    async def _refuse(
        self, contact: Contact, decision: GateDecision, stage: str
    ) -> None:
        await self.repo.refuse_contact(
            contact.id,
            decision.reason,
            decision.retry_at,
            decision.final,
            decision.closes_as,
        )
        self._log_refusal(contact, decision, stage)

    def _log_refusal(
        self, contact: Contact, decision: GateDecision, stage: str
    ) -> None:
        log.info(
            "contact_refused",
            contact_id=contact.id,
            campaign_id=contact.campaign_id,
            stage=stage,
            reason=decision.reason,
            final=decision.final,
        )

    async def _create(self, campaign: Campaign, contact: Contact) -> Call:
        # Registered before the row is committed, so that a resync running
        # meanwhile never mistakes this attempt for one left by a crash.
        attempt_id = str(uuid.uuid4())
        dial_string = self.plan.endpoint(contact.phone)
        call = Call(attempt_id, campaign, contact, 0, dial_string, self.ari)
        self.registry.add(call)
        try:
            call.attempt_no = await self.repo.create_attempt(
                attempt_id, campaign, contact, dial_string
            )
        except BaseException:
            self.registry.remove(call)
            self.pacer.ended(campaign.id)
            raise

        return call

    async def _originate(self, call: Call) -> bool:
        campaign = call.campaign
        await self.pacer.originate_bucket(campaign.id, campaign.calls_per_second).take()
        await self.repo.mark_originating(call.id, call.contact.id, self.clock.now())
        call.transition(call.state.originate_sent())
        structlog.contextvars.bind_contextvars(call_id=call.id, channel_id=call.id)
        try:
            await self.ari.originate(
                call.dial_string,
                channel_id=call.id,
                app_args=("customer", call.id),
                caller_id=call.campaign.caller_id,
                timeout=call.campaign.ring_timeout_s,
                variables={
                    "CAMPAIGN_ID": str(call.campaign.id),
                    "CONTACT_ID": str(call.contact.id),
                    "ATTEMPT_ID": call.id,
                },
            )
        except AriConnectionError as exc:
            log.warning("originate_unconfirmed", error=str(exc))
            self.spawn(self._verify_originate(call))
        except AriError as exc:
            log.warning("originate_failed", error=str(exc))
            await self.finish(call, Outcome.FAILED, cause_txt=str(exc)[:200])
            return False
        finally:
            structlog.contextvars.unbind_contextvars("call_id", "channel_id")
        call.originate_done = True

        return True

    async def _verify_originate(self, call: Call) -> None:
        # The request may or may not have reached Asterisk. Events would have
        # moved the call on; if none came and no channel exists, it never rang.
        await asyncio.sleep(_VERIFY_AFTER_S)
        if call.state.name != "originating":
            return
        try:
            await self.ari.get_channel(call.id)
        except AriNotFoundError:
            await self.finish(call, Outcome.FAILED, cause_txt="originate lost")
        except AriError as exc:
            log.warning("originate_verify_failed", call_id=call.id, error=str(exc))

    # The answer ---------------------------------------------------------------

    async def answer(self, call: Call) -> None:
        """Bridge and record the answered customer, then run the answer handler."""
        call.answered_at = self.clock.now()
        call.unrecorded = True
        bridge_id = bridge_id_for(call.id)
        try:
            await self._bridge_and_record(call, bridge_id)
        except AriNotFoundError as exc:
            # Usually the customer hung up at once (a normal race), but a 404
            # may also name the bridge: hang up anyway, a gone channel is fine.
            log.info("call_gone_during_answer", error=str(exc))
            await self.hangup_safely(call)
            return
        except AriError as exc:
            # Nobody may talk unrecorded: without a recording, hang up.
            log.warning("recording_start_failed", error=str(exc))
            await self.hangup_safely(call)
            return
        call.unrecorded = False
        await self.repo.mark_answered(call.id, bridge_id, call.answered_at)
        log.info(
            "call_answered",
            campaign_id=call.campaign.id,
            recording_id=call.recording_id,
        )
        call.handler_task = self.spawn(self._run_handler(call))

    async def _bridge_and_record(self, call: Call, bridge_id: str) -> None:
        name = recording_name_for(call.campaign.id, call.id)
        await self._create_bridge(call, bridge_id)
        call.bridge_id = bridge_id
        await self.ari.add_channel(bridge_id, call.id)
        call.recording_id = await self.repo.create_recording(
            call.id, call.campaign.id, name
        )
        call.recording_name = name
        try:
            await self.ari.record_bridge(
                bridge_id, name, format=self.plan.recording_format, if_exists="fail"
            )
        except AriError as exc:
            await self.repo.recording_failed_to_start(name, str(exc))
            raise

    async def _create_bridge(self, call: Call, bridge_id: str) -> None:
        try:
            await self.ari.create_bridge(
                bridge_id, type="mixing", name=f"outdial-{call.id}"
            )
        except AriRequestError as exc:
            # 409: the bridge of this attempt exists, left by a process that
            # died while answering it (the id is the attempt's): carry on in it.
            if exc.status != 409:
                raise
            log.warning("bridge_reused", bridge_id=bridge_id)

    async def _run_handler(self, call: Call) -> None:
        structlog.contextvars.bind_contextvars(call_id=call.id, channel_id=call.id)
        try:
            await self.answer_handler.on_answered(call)
        except AriNotFoundError:
            log.info("answer_handler_call_gone")
        except Exception:
            log.exception("answer_handler_failed")
            await self.hangup_safely(call)

    async def hangup_safely(self, call: Call) -> None:
        """Hang the customer up after a failure; a gone channel is fine."""
        try:
            await self.ari.hangup(call.id)
        except AriNotFoundError:
            log.info("hangup_channel_gone", call_id=call.id)
        except AriError:
            log.exception("hangup_failed", call_id=call.id)

    # The end ------------------------------------------------------------------

    async def finish(
        self,
        call: Call,
        outcome: Outcome | None = None,
        *,
        cause_txt: str | None = None,
        disposition: Disposition | None = None,
    ) -> None:
        """Close the attempt once: bridge gone, row ended, contact moved on."""
        if not call.transition(call.state.ended()):
            return
        outcome = outcome or call.outcome
        self._stop_handler(call)
        try:
            await self._destroy_bridge(call)
            await self.repo.end_attempt(
                call.id,
                call.campaign,
                outcome,
                self.clock.now(),
                dialstatus=call.dialstatus,
                cause=call.cause,
                cause_txt=cause_txt or call.cause_txt,
                disposition=disposition,
            )
        except Exception:
            # The row stays open; recovery closes it on the next start.
            log.exception("attempt_close_failed", call_id=call.id)
        finally:
            self.registry.remove(call)
            self.pacer.ended(call.campaign.id)
            call.ended.set()
        log.info(
            "call_ended",
            call_id=call.id,
            campaign_id=call.campaign.id,
            outcome=outcome.value,
            duration_ms=call.duration_ms(),
            number=mask_phone(call.contact.phone),
            attempt=call.attempt_no,
            cause=call.cause,
        )

    def _stop_handler(self, call: Call) -> None:
        task = call.handler_task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        for future in call.playbacks.values():
            if not future.done():
                future.cancel()

    async def _destroy_bridge(self, call: Call) -> None:
        if call.bridge_id is None:
            return
        try:
            await self.ari.destroy_bridge(call.bridge_id)
        except AriNotFoundError:
            log.info("bridge_already_gone", bridge_id=call.bridge_id)
        except AriError as exc:
            log.warning(
                "bridge_destroy_failed", bridge_id=call.bridge_id, error=str(exc)
            )

    # Recordings ---------------------------------------------------------------

    async def recording_finished(self, name: str) -> None:
        """Queue a finished recording for the archive."""
        if await self.repo.recording_finished(name, self.clock.now()):
            self.on_recording_done()

    # Background tasks ---------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a task the service keeps a reference to until it ends."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

        return task

    async def drain(self) -> None:
        """Cancel and await every background task (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
