"""
Call progress: what happens on the wire after an originate or a dial.

``LocalCall`` plays a Local channel pair whose ``;2`` half runs the test
dialplan of the reference traces (``NoOp``, ``Set``, ``Ringing``, ``Wait``,
``Answer``, ``Busy``...); ``PjsipCall`` plays a SIP leg to a trunk or a
softphone (no dialplan events; refusals carry ``tech_cause``). Both run on
timers of the simulated clock, never on a task per sleep.

Design note: the app only sees what it is subscribed to. An originate
subscribes it to both Local halves, ``/channels/create`` only to ``;1``, so
one script serves both modes and the subscription decides what is visible.
"""

import asyncio
from typing import TYPE_CHECKING

from engine.sim.channels import Channel, dialstatus_for_cause
from engine.sim.parties import Behaviour

if TYPE_CHECKING:
    from engine.sim.pbx import Pbx

PRESENTATION = {0: "Presentation Allowed, Not Screened", 67: "Number Unavailable"}


class Call:
    """One dial attempt of an originated or created channel."""

    def __init__(
        self,
        pbx: "Pbx",
        leg: Channel,
        behaviour: Behaviour,
        *,
        mode: str,
        app: str | None,
        args: list[str],
        dialstring: str,
    ) -> None:
        self.pbx = pbx
        self.leg = leg
        self.behaviour = behaviour
        self.mode = mode
        self.app = app
        self.args = args
        self.dialstring = dialstring
        self.timers: list[asyncio.TimerHandle] = []
        self.dialled = False
        self.endpoint = ""
        self.variables: dict[str, str] = {}
        self.dtmf_pressed = 0  # how many of ``behaviour.dtmf`` were pressed
        leg.call = self

    # -- shared -------------------------------------------------------------

    def later(self, delay: float, callback: object, *args: object) -> None:
        """Run a step after ``delay`` simulated seconds (cancelled on hangup)."""
        self.timers.append(self.pbx.clock.later(delay, callback, *args))  # type: ignore[arg-type]

    def cancel_timers(self) -> None:
        """Stop every pending step."""
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()

    def dial(self, status: str) -> None:
        """A Dial event; after the first, a created channel's dialstring is empty."""
        first = not self.dialled
        self.dialled = True
        dialstring = self.dialstring if first or self.mode == "originate" else ""
        self.pbx.dial_event(self.leg, status, dialstring)

    def start_timeout(self, timeout: float | None) -> None:
        """Arm the originate or dial timeout."""
        if timeout is not None and timeout > 0:
            self.later(timeout, self._timeout_fired)

    def _timeout_fired(self) -> None:
        if self.leg.alive and not self.leg.answered:
            self.cancel_timers()
            self.timeout()

    def enter_app(self) -> None:
        """The answered channel of an originate goes into its application."""
        if self.mode != "originate" or self.app is None:
            return
        if self.pbx.hub.registered(self.app):
            self.pbx.enter_stasis(self.leg, self.app, self.args)
            return
        # Asterisk accepts an originate into an app without a WebSocket; the
        # Stasis application then fails and the channel is hung up.
        self.later(0.05, self.local_hangup, self.leg, 16)

    def cancelled(self, cause: int) -> None:
        """
        ARI hung up an originated channel that was still ringing.

        Asterisk's dial monitor then reads the hangup and reports a final
        Dial status derived from the cause (NOANSWER for ``normal``).
        """
        if self.mode == "originate" and self.dialled and not self.leg.answered:
            self.dial(dialstatus_for_cause(cause))

    def timeout_in_stasis(self) -> None:
        """A created channel whose dial timed out: Asterisk hangs it up."""
        self.pbx.hangup_request(self.leg, 32, soft=True)
        self.pbx.finish(self.leg, 19)

    # -- overridden -----------------------------------------------------------

    def start(self) -> None:
        """Start dialling."""
        raise NotImplementedError

    def timeout(self) -> None:
        """The timeout fired before an answer."""
        raise NotImplementedError

    def remote_hangup(self, cause: int) -> None:
        """The far end hangs up."""
        raise NotImplementedError

    def local_hangup(self, ch: Channel, cause: int) -> None:
        """ARI hung up ``ch`` (its ChannelHangupRequest is already out)."""
        raise NotImplementedError


class LocalCall(Call):
    """A Local channel pair; ``;2`` runs the simulated dialplan."""

    def __init__(
        self,
        pbx: "Pbx",
        leg: Channel,
        half: Channel,
        role: str | None,
        behaviour: Behaviour,
        **kwargs: object,
    ) -> None:
        super().__init__(pbx, leg, behaviour, **kwargs)  # type: ignore[arg-type]
        self.half = half
        self.role = role
        self.pending_caller: tuple[tuple[str, str], int] | None = None
        half.call = self

    def start(self) -> None:
        """Dial: the ``;2`` half starts its dialplan."""
        if self.role is None:
            # No such context: both halves die at once, cause 0, no Dial.
            self._destroy_half(0)
            self.pbx.destroy(self.leg, 0)
            return
        self.dial("")
        if self.role == "operator":
            self._step("NoOp", f"sim operator {self.half.exten}")
            self._ring(self.behaviour.after)
            return
        self._customer_prologue()
        self._behave()

    def _customer_prologue(self) -> None:
        number, code = self.half.exten, self.behaviour.code
        self._step("NoOp", f"sim customer {number} behaviour {code}")
        self._step("Set", f"__SIM_NUMBER={number}")
        self.pbx.set_var(self.half, "__SIM_NUMBER", number)
        self._step("GotoIf", f"1?sim-behaviour,b{code},1")
        self.half.context, self.half.exten, self.half.priority = (
            "sim-behaviour",
            f"b{code}",
            0,
        )
        label = self.behaviour.label or self.behaviour.kind
        self._step("Set", f"SIM_BEHAVIOUR={label}")
        self.pbx.set_var(self.half, "SIM_BEHAVIOUR", label)

    def _behave(self) -> None:
        kind, after = self.behaviour.kind, self.behaviour.after
        if kind in ("busy", "congestion") and after <= 0:
            self._busy()
        elif kind == "no_answer":
            self._ring(None)
        else:
            self._ring(after)

    def _step(self, app: str, data: str = "") -> None:
        half = self.half
        if not half.alive:
            return
        half.priority += 1
        half.app_name, half.app_data = app, data
        self.pbx.channel_event(
            half, "ChannelDialplan", dialplan_app=app, dialplan_app_data=data
        )
        self._apply_caller()

    def pass_caller(self, party: tuple[str, str], presentation: int) -> None:
        """``;1``'s connected line reaches ``;2`` within one 20 ms frame."""
        self.pending_caller = (party, presentation)
        self.later(0.02, self._apply_caller)

    def _destroy_half(self, cause: int) -> None:
        # A caller update still queued is applied as the half goes away
        # (traces 05 and 12 show it just after ChannelDestroyed).
        self.pbx.destroy(self.half, cause)
        self._apply_caller(even_dead=True)

    def _apply_caller(self, even_dead: bool = False) -> None:
        half = self.half
        if self.pending_caller is None or not (half.alive or even_dead):
            return
        (half.caller, presentation), self.pending_caller = self.pending_caller, None
        self.pbx.channel_event(
            half,
            "ChannelCallerId",
            caller_presentation=presentation,
            caller_presentation_txt=PRESENTATION[presentation],
        )

    def _ring(self, after: float | None) -> None:
        self._step("Ringing")
        self.pbx.set_state(self.leg, "Ringing")
        self._step("Wait", "30" if after is None else f"{after:g}")
        self.dial("RINGING")
        if after is not None:
            self.later(after, self._ring_over)

    def _ring_over(self) -> None:
        kind = self.behaviour.kind
        if kind == "answer" or self.role == "operator":
            self._answer()
        elif kind in ("busy", "congestion"):
            self._busy()
        else:
            self._refuse(self.behaviour.cause)

    def _answer(self) -> None:
        self.cancel_timers()
        self._step("Answer")
        self.pbx.set_state(self.half, "Up")
        self.pbx.set_state(self.leg, "Up")
        self.leg.answered = True
        self.dial("ANSWER")
        self.enter_app()
        # The dialplan's next step shows up some 15-25 ms after the answer.
        if self.role == "operator":
            self.later(0.015, self._operator_playback)
        else:
            self.later(0.02, self._after_answer)

    def _after_answer(self) -> None:
        play = self.behaviour.play
        if play:
            self._step("Playback", play)
            self.later(self.pbx.playbacks.sounds.get(play, 0.0), self._talk)
            return
        self._talk()

    def _talk(self) -> None:
        talk = self.behaviour.hangup_after
        self._step("Wait", "600" if talk is None else f"{talk:g}")
        if talk is not None:
            self.later(talk, self.remote_hangup, 16)

    def _operator_playback(self) -> None:
        self._step("Playback", "beep")
        self.later(0.42, self._operator_echo)

    def _operator_echo(self) -> None:
        self.pbx.set_var(self.half, "PLAYBACKSTATUS", "SUCCESS")
        self._step("Echo")

    def _busy(self) -> None:
        busy = self.behaviour.kind == "busy"
        self._step("Busy" if busy else "Congestion", "30")
        self.pbx.set_state(self.half, "Busy")
        self.dial("BUSY" if busy else "CONGESTION")
        self.pbx.hangup_request(self.half, 0)
        if self.mode == "originate":
            self.pbx.destroy(self.leg, 0)
        self._end_half(17 if busy else 34)

    def _refuse(self, cause: int) -> None:
        self.cancel_timers()
        self._step("Hangup", str(cause))
        self.pbx.hangup_request(self.half, 16, soft=True)
        self.pbx.hangup_request(self.leg, cause)
        self.dial(dialstatus_for_cause(cause))
        self.pbx.finish(self.leg, cause)
        self._destroy_half(cause)

    def _end_half(self, cause: int) -> None:
        if self.half.app_name == "Playback" and self.half.alive:
            self.pbx.set_var(self.half, "PLAYBACKSTATUS", "SUCCESS")
        self.pbx.hangup_request(self.half, 16, soft=True)
        self._destroy_half(cause)

    def timeout(self) -> None:
        """No answer in time: cause 19 and no final Dial event."""
        if self.mode == "create":
            self.timeout_in_stasis()
            self._destroy_half(19)
            return
        self.pbx.hangup_request(self.half, 19)
        self.pbx.destroy(self.leg, 19)
        self._end_half(19)

    def remote_hangup(self, cause: int) -> None:
        """The dialplan half hangs up with ``cause``."""
        if not self.leg.answered:
            self._refuse(cause)
            return
        self.cancel_timers()
        self._step("Hangup", str(cause))
        if self.half.alive:
            self.pbx.hangup_request(self.half, 16, soft=True)
        self.pbx.hangup_request(self.leg, cause)
        self._destroy_half(cause)
        self.pbx.finish(self.leg, cause)

    def local_hangup(self, ch: Channel, cause: int) -> None:
        """ARI hung up one half; the other follows."""
        self.cancel_timers()
        if ch is self.half:
            if self.leg.alive:
                self.pbx.hangup_request(self.leg, cause)
            if not self.leg.answered and self.leg.alive:
                self.dial(dialstatus_for_cause(cause))
            self._destroy_half(cause)
            self.pbx.finish(self.leg, cause)
            return
        if ch.bridge_id is not None:
            self.pbx.bridges.leave(ch)
        self.pbx.leave_stasis(ch)
        self.cancelled(cause)
        if self.half.alive:
            self.pbx.hangup_request(self.half, cause)
            self.pbx.destroy(self.leg, cause)
            self._end_half(cause)
            return
        self.pbx.destroy(self.leg, cause)


class PjsipCall(Call):
    """A SIP leg to a trunk or a softphone."""

    def start(self) -> None:
        """Send the INVITE: ringing, then the behaviour's outcome."""
        kind, after = self.behaviour.kind, self.behaviour.after
        self.dial("")
        if kind in ("busy", "congestion", "unreachable") and after <= 0:
            self._refuse()
            return
        self.pbx.set_state(self.leg, "Ringing")
        self.dial("RINGING")
        if kind != "no_answer":
            self.later(after, self._ring_over)

    def _ring_over(self) -> None:
        if self.behaviour.kind == "answer":
            self._answer()
        else:
            self._refuse()

    def _answer(self) -> None:
        self.cancel_timers()
        self.pbx.set_state(self.leg, "Up")
        self.leg.answered = True
        self.leg.answered_at = self.pbx.clock.now()
        self.dial("ANSWER")
        self.enter_app()
        talk = self.behaviour.hangup_after
        if talk is not None:
            self.later(talk, self.remote_hangup, 16)

    def _refuse(self) -> None:
        self.cancel_timers()
        code, cause = self.behaviour.sip_code or 603, self.behaviour.cause
        self.pbx.hangup_request(self.leg, cause, tech_cause=code)
        self.dial(self.behaviour.dialstatus)
        self.pbx.finish(self.leg, cause, tech_cause=code)

    def timeout(self) -> None:
        """No answer in time: CANCEL, cause 19, no final Dial event."""
        if self.mode == "create":
            self.timeout_in_stasis()
            return
        self.pbx.destroy(self.leg, 19, tech_cause=480)

    def remote_hangup(self, cause: int) -> None:
        """The far end sends BYE (or rejects, when still ringing)."""
        if not self.leg.alive:
            return
        self.cancel_timers()
        self.pbx.rtp_report(self.leg)
        self.pbx.hangup_request(self.leg, cause)
        if not self.leg.answered:
            self.dial(dialstatus_for_cause(cause))
        self.pbx.finish(self.leg, cause)

    def local_hangup(self, ch: Channel, cause: int) -> None:
        """ARI hung up the leg."""
        self.cancel_timers()
        self.cancelled(cause)
        self.pbx.finish(ch, cause)
