"""
How a finished call attempt is classified, and what happens to its contact.

ARI gives two signals about an unanswered originate: the last ``Dial`` event's
``dialstatus`` and the ``ChannelDestroyed`` Q.850 cause. The dialstatus is the
better one: busy and congestion over Local channels leave cause 0 on the
originated half, and PJSIP 603 reports NOANSWER with cause 21. When the
originate timeout fires there is no final ``Dial`` at all, only cause 19. So
the dialstatus decides first and the cause second (see the table in
``/work/shared/ari/README.md``).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """The values of ``call_attempts.outcome``."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    CONGESTION = "congestion"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"


# Q.850 causes (ITU-T Q.850 section 2.2.7) grouped by what they mean to a campaign.
_UNREACHABLE_CAUSES = frozenset({1, 2, 3, 20, 22, 27, 28})
_BUSY_CAUSES = frozenset({17})
_NO_ANSWER_CAUSES = frozenset({18, 19})
_REJECTED_CAUSES = frozenset({21})
_CONGESTION_CAUSES = frozenset({34, 38, 41, 42, 44, 47})

_BY_CAUSE: tuple[tuple[frozenset[int], Outcome], ...] = (
    (_UNREACHABLE_CAUSES, Outcome.UNREACHABLE),
    (_BUSY_CAUSES, Outcome.BUSY),
    (_NO_ANSWER_CAUSES, Outcome.NO_ANSWER),
    (_REJECTED_CAUSES, Outcome.REJECTED),
    (_CONGESTION_CAUSES, Outcome.CONGESTION),
)


def classify(
    dialstatus: str | None, cause: int | None, *, answered: bool = False
) -> Outcome:
    """
    The outcome of an attempt from its final dialstatus, then its hangup cause.

    ``answered`` is true once the customer channel entered Stasis, which is
    the engine's own proof of an answer whatever the later events say.
    """
    if answered:
        return Outcome.ANSWERED
    status = (dialstatus or "").upper()
    if status == "ANSWER":
        return Outcome.ANSWERED
    if status == "BUSY":
        return Outcome.BUSY
    if status == "CONGESTION":
        return Outcome.CONGESTION
    if status == "CHANUNAVAIL":
        return Outcome.UNREACHABLE
    if status == "NOANSWER":
        return _noanswer_by_cause(cause)

    return _by_cause(cause)


def _noanswer_by_cause(cause: int | None) -> Outcome:
    # NOANSWER covers a timeout (19), a decline (21) and a 404 (cause 1).
    if cause in _REJECTED_CAUSES:
        return Outcome.REJECTED
    if cause in _UNREACHABLE_CAUSES:
        return Outcome.UNREACHABLE

    return Outcome.NO_ANSWER


def _by_cause(cause: int | None) -> Outcome:
    for causes, outcome in _BY_CAUSE:
        if cause in causes:
            return outcome

    return Outcome.FAILED


@dataclass(frozen=True)
class Disposition:
    """What to do with a contact after an attempt: retry at a time, or close."""

    state: str
    next_attempt_at: datetime | None
    counted: bool


def dispose(
    outcome: Outcome,
    attempts: int,
    max_attempts: int,
    retry_delays: dict[str, Any],
    now: datetime,
) -> Disposition:
    """
    Where a contact goes after an attempt with this outcome.

    ``attempts`` counts dials made so far including this one. An outcome not in
    ``retry_delays`` is final; a cancelled attempt was never dialled, so the
    contact goes back to the queue at once without spending an attempt.
    """
    if outcome is Outcome.CANCELLED:
        return Disposition("pending", now, counted=False)
    if outcome is Outcome.ANSWERED:
        return Disposition("done", None, counted=True)
    delay = retry_delays.get(outcome.value)
    if delay is None:
        return Disposition("done", None, counted=True)
    if attempts >= max_attempts:
        return Disposition("exhausted", None, counted=True)

    return Disposition("pending", now + timedelta(seconds=float(delay)), counted=True)
