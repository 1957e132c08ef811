"""
The post-call satisfaction survey: one question, answered with a key.

A campaign opts in with ``{"survey": {"prompt": "sound:rate-operator",
"max_digit": 5, "timeout_s": 8}}`` in its settings. When the operator leaves
a call first (ends it from the desktop, or the softphone hangs up) while the
customer is still there, the operator goes to wrap-up and the customer, still
in the recorded bridge, hears the prompt. The first key from 1 to
``max_digit`` (``ChannelDtmfReceived`` on the customer channel; keys may
interrupt the prompt) is the score, stored in ``survey_responses`` against the
operator who had the call; other keys are ignored. No valid key within
``timeout_s`` after the prompt ends records nothing. Either way the customer
is then hung up, which ends the call and its recording. A customer who hangs
up first is never asked.
"""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from engine.ari import AriClient, AriError, AriNotFoundError, Event
from engine.clock import Clock
from engine.operators.exceptions import SurveyConfigError

log = structlog.get_logger(__name__)

# longest a prompt may play before the answer timeout starts anyway
PROMPT_MAX_S = 60.0


@dataclass(frozen=True)
class SurveySettings:
    """One campaign's survey: the prompt, the scale and how long to wait."""

    prompt: str
    max_digit: int = 5
    timeout_s: float = 8.0


def survey_settings(campaign_settings: Mapping[str, Any]) -> SurveySettings | None:
    """The campaign's survey, None without one; SurveyConfigError if malformed."""
    raw = campaign_settings.get("survey")
    if raw is None or raw is False:
        return None
    if not isinstance(raw, Mapping):
        raise SurveyConfigError("survey must be an object with a prompt")
    unknown = set(raw) - {"prompt", "max_digit", "timeout_s"}
    if unknown:
        raise SurveyConfigError(f"survey has unknown fields {sorted(unknown)}")
    prompt = raw.get("prompt")
    if not isinstance(prompt, str) or ":" not in prompt:
        raise SurveyConfigError("survey prompt must be a media uri such as sound:name")
    max_digit = raw.get("max_digit", 5)
    if not isinstance(max_digit, int) or not 1 <= max_digit <= 9:
        raise SurveyConfigError("survey max_digit must be a whole number from 1 to 9")
    timeout_s = raw.get("timeout_s", 8.0)
    if not isinstance(timeout_s, int | float) or not 0 < timeout_s <= 120:
        raise SurveyConfigError("survey timeout_s must be a number of seconds, 0-120")

    return SurveySettings(prompt, max_digit, float(timeout_s))


@dataclass(frozen=True)
class SurveyCall:
    """What the survey needs to know of the call it follows."""

    call_id: str
    campaign_id: int
    operator_id: str


class SurveyRunner:
    """Asks the customers of calls their operator left, and stores the answers."""

    def __init__(self, client: AriClient, pool: asyncpg.Pool, clock: Clock) -> None:
        self.client = client
        self.pool = pool
        self.clock = clock
        # customer channel id -> its keys (None: the customer hung up)
        self._keys: dict[str, asyncio.Queue[str | None]] = {}
        self._prompts: dict[str, asyncio.Future[str]] = {}

    def subscribe(self) -> list[Callable[[], None]]:
        """Listen for keys, prompt ends and hang-ups; returns the unsubscribers."""
        return [
            self.client.on("ChannelDtmfReceived", self.on_dtmf),
            self.client.on("PlaybackFinished", self.on_playback_finished),
            self.client.on("StasisEnd", self.on_gone),
            self.client.on("ChannelDestroyed", self.on_gone),
        ]

    async def on_dtmf(self, event: Event) -> None:
        """A key pressed on a channel being surveyed."""
        keys = self._keys.get(event.channel.id) if event.channel else None
        digit = event.raw.get("digit")
        if keys is not None and isinstance(digit, str):
            keys.put_nowait(digit)

    async def on_playback_finished(self, event: Event) -> None:
        """The survey prompt ended."""
        if event.playback is None:
            return
        done = self._prompts.get(event.playback.id)
        if done is not None and not done.done():
            done.set_result(event.playback.state)

    async def on_gone(self, event: Event) -> None:
        """The customer hung up during the survey."""
        keys = self._keys.get(event.channel.id) if event.channel else None
        if keys is not None:
            keys.put_nowait(None)

    async def run(self, call: SurveyCall, settings: SurveySettings) -> int | None:
        """Play the question, wait for a key, store it, hang up; the score."""
        keys: asyncio.Queue[str | None] = asyncio.Queue()
        self._keys[call.call_id] = keys
        playback_id = f"survey-{call.call_id}"
        prompt_done = asyncio.get_running_loop().create_future()
        self._prompts[playback_id] = prompt_done
        digit: str | None = None
        try:
            digit = await self._ask(call, settings, keys, prompt_done, playback_id)
            if digit is not None:
                await self._store(call, int(digit), settings.max_digit)
        finally:
            self._keys.pop(call.call_id, None)
            self._prompts.pop(playback_id, None)
            prompt_done.cancel()
            # also when the engine stops mid-survey: never leave the customer
            await self._hangup(call.call_id)
        log.info(
            "survey_answered" if digit is not None else "survey_unanswered",
            call_id=call.call_id,
            operator_id=call.operator_id,
            score=digit,
        )

        return None if digit is None else int(digit)

    async def _ask(
        self,
        call: SurveyCall,
        settings: SurveySettings,
        keys: "asyncio.Queue[str | None]",
        prompt_done: "asyncio.Future[str]",
        playback_id: str,
    ) -> str | None:
        try:
            await self.client.play(
                call.call_id, settings.prompt, playback_id=playback_id
            )
        except AriError as exc:
            log.info("survey_prompt_failed", call_id=call.call_id, error=str(exc))
            return None
        answer = asyncio.ensure_future(_first_valid(keys, settings.max_digit))
        first: set[asyncio.Future[Any]] = {answer, prompt_done}
        try:
            await asyncio.wait(
                first,
                timeout=PROMPT_MAX_S,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if not answer.done():
                await asyncio.wait({answer}, timeout=settings.timeout_s)
            return answer.result() if answer.done() else None
        finally:
            answer.cancel()

    async def _store(self, call: SurveyCall, score: int, max_score: int) -> None:
        await self.pool.execute(
            "INSERT INTO survey_responses (attempt_id, campaign_id, operator_id,"
            " digit, score, max_score, answered_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            call.call_id,
            call.campaign_id,
            call.operator_id,
            str(score),
            score,
            max_score,
            self.clock.now(),
        )

    async def _hangup(self, channel_id: str) -> None:
        try:
            await self.client.hangup(channel_id)
        except AriNotFoundError:
            return
        except AriError as exc:
            log.warning("survey_hangup_failed", call_id=channel_id, error=str(exc))


async def _first_valid(keys: "asyncio.Queue[str | None]", max_digit: int) -> str | None:
    """The first key from 1 to ``max_digit``; None once the customer is gone."""
    valid = {str(n) for n in range(1, max_digit + 1)}
    while True:
        key = await keys.get()
        if key is None or key in valid:
            return key
