"""
The AnswerHandler that puts an answered customer through to an operator.

The dialer calls ``on_answered(call)`` once the customer is in a mixing bridge
whose recording already runs, so adding the operator's leg to that same bridge
makes the one recording cover both parties from answer to hang-up.

Within ``answer_timeout_s`` of the answer the handler claims the longest-idle
ready operator (``routing.claim_operator``, SKIP LOCKED in Postgres) and moves
their softphone leg from the holding bridge into the call's bridge. While no
operator is free it retries every ``retry_interval_s`` (an operator freed by
any engine shows up in Postgres). When the time is up the customer hears the
apology naming the institution and its call-back number, is hung up, and the
attempt ends as ``abandoned``.
"""

import asyncio
import time
from typing import TYPE_CHECKING

import asyncpg
import structlog

from engine.ari import AriError
from engine.clock import Clock
from engine.operators.exceptions import SurveyConfigError
from engine.operators.pacing import campaign_operator_settings
from engine.operators.routing import Claim, claim_operator
from engine.operators.softphones import SoftphoneManager
from engine.operators.survey import SurveySettings, survey_settings

if TYPE_CHECKING:
    from engine.dialer.calls import Call

log = structlog.get_logger(__name__)


class OperatorBridge:
    """Bridges each answered customer to a free operator, or abandons the call."""

    def __init__(
        self,
        manager: SoftphoneManager,
        pool: asyncpg.Pool,
        clock: Clock,
        *,
        answer_timeout_s: float = 2.0,
        apology_media: str = "sound:outdial-apology",
        retry_interval_s: float = 0.05,
        institution_name: str = "",
        callback_number: str = "",
    ) -> None:
        self.manager = manager
        self.pool = pool
        self.clock = clock
        self.answer_timeout_s = answer_timeout_s
        self.apology_media = apology_media
        self.retry_interval_s = retry_interval_s
        self.institution_name = institution_name
        self.callback_number = callback_number

    async def on_answered(self, call: "Call") -> None:
        """Bridge the customer to an operator within the timeout, or abandon."""
        started = time.monotonic()
        deadline = started + self.answer_timeout_s
        # Abandoned until an operator is on the line: a customer who hangs up
        # while waiting is an abandoned call too.
        _mark_abandoned(call, True)
        if call.bridge_id is None:
            log.warning("operator_bridge_skipped", call_id=call.id, reason="no_bridge")
            await self.abandon(call)
            return
        while not call.ended.is_set():
            # Shielded: the dialer cancels this task when the customer hangs
            # up, and a claimed operator must not be left marked on_call.
            if await asyncio.shield(self._try_once(call, started)):
                await call.ended.wait()
                return
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(self.retry_interval_s)
        if not call.ended.is_set():
            log.info(
                "operator_wait_expired", call_id=call.id, waited_ms=_ms_since(started)
            )
            await self.abandon(call)

    async def _try_once(self, call: "Call", started: float) -> bool:
        claim = await claim_operator(
            self.pool,
            campaign_id=call.campaign.id,
            call_id=call.id,
            engine_id=self.manager.engine_id,
            now=self.clock.now(),
        )
        if claim is None:
            return False

        return await self._hand_over(call, claim, started)

    async def _hand_over(self, call: "Call", claim: Claim, started: float) -> bool:
        wrap_up_s = campaign_operator_settings(call.campaign.settings).get("wrap_up_s")
        assert call.bridge_id is not None
        wait_ms = _ms_since(started)
        # The row goes in first, so that a hang-up racing the hand-over always
        # finds it to close.
        await self.pool.execute(
            "INSERT INTO operator_calls (call_id, campaign_id, contact_id,"
            " operator_id, session_id, bridge_id, wait_ms, bridged_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            call.id,
            call.campaign.id,
            call.contact.id,
            claim.operator_id,
            claim.session_id,
            call.bridge_id,
            wait_ms,
            self.clock.now(),
        )
        connected = await self.manager.connect_call(
            claim,
            call.id,
            call.bridge_id,
            wrap_up_s,
            call.campaign.id,
            survey=_campaign_survey(call),
        )
        if not connected:
            await self.pool.execute(
                "DELETE FROM operator_calls WHERE call_id = $1", call.id
            )
            return False
        _mark_abandoned(call, False)
        log.info(
            "operator_bridged",
            call_id=call.id,
            operator_id=claim.operator_id,
            wait_ms=wait_ms,
        )
        if call.ended.is_set():
            await self.manager.finish_call(call.id, "customer_hung_up")
            await self.manager.close_operator_call(call.id)

        return True

    async def abandon(self, call: "Call") -> None:
        """Apologise, hang up, and have the attempt end as abandoned."""
        _mark_abandoned(call, True)
        media = self.apology_media
        if self.callback_number.isdigit():
            # the prompt names the institution; the number is read out after it
            media = f"{media},digits:{self.callback_number}"
        try:
            await call.play(media, max_wait=30.0)
            if not call.ended.is_set():
                await call.hangup()
        except AriError as exc:
            log.info("apology_interrupted", call_id=call.id, error=str(exc))
        log.info(
            "call_abandoned",
            call_id=call.id,
            campaign_id=call.campaign.id,
            institution=self.institution_name,
        )


def _campaign_survey(call: "Call") -> SurveySettings | None:
    """The survey of the call's campaign; a malformed one is logged and skipped."""
    try:
        return survey_settings(call.campaign.settings)
    except SurveyConfigError as exc:
        log.warning("survey_skipped", campaign_id=call.campaign.id, reason=str(exc))
        return None


def _mark_abandoned(call: "Call", abandoned: bool) -> None:
    """Tell the dialer whether the attempt ends abandoned rather than answered."""
    call.abandoned = abandoned


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
