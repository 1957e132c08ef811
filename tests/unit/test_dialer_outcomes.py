"""Tests of call outcome classification and contact disposition."""

from datetime import UTC, datetime, timedelta

import pytest

from engine.dialer.outcomes import Outcome, classify, dispose

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
DELAYS = {"busy": 300, "no_answer": 1800, "congestion": 600, "failed": 3600}


@pytest.mark.parametrize(
    ("dialstatus", "cause", "expected"),
    [
        ("BUSY", 0, Outcome.BUSY),  # Local Busy(): cause 0 on the ;1 half
        ("CONGESTION", 0, Outcome.CONGESTION),  # Local Congestion()
        (None, 19, Outcome.NO_ANSWER),  # originate timeout: no final Dial
        ("RINGING", 19, Outcome.NO_ANSWER),
        ("NOANSWER", 21, Outcome.REJECTED),  # Hangup(21) / PJSIP 603
        ("BUSY", 17, Outcome.BUSY),  # PJSIP 486
        ("CONGESTION", 34, Outcome.CONGESTION),  # PJSIP 503
        ("NOANSWER", 19, Outcome.NO_ANSWER),  # PJSIP 480
        ("NOANSWER", 1, Outcome.UNREACHABLE),  # PJSIP 404
        ("ANSWER", 16, Outcome.ANSWERED),
        ("ANSWER", 17, Outcome.ANSWERED),  # engine hung up with reason=busy
        ("CHANUNAVAIL", 0, Outcome.UNREACHABLE),
        (None, 0, Outcome.FAILED),  # Local to a missing context
        (None, None, Outcome.FAILED),
        (None, 17, Outcome.BUSY),
        ("", 34, Outcome.CONGESTION),
    ],
)
def test_classify_trace_cases_match_readme_table(
    dialstatus: str | None, cause: int | None, expected: Outcome
) -> None:
    assert classify(dialstatus, cause) == expected


def test_classify_answered_flag_wins_over_signals() -> None:
    assert classify("BUSY", 17, answered=True) == Outcome.ANSWERED


def test_dispose_retryable_outcome_schedules_retry() -> None:
    result = dispose(Outcome.BUSY, 1, 3, DELAYS, NOW)

    assert result.state == "pending"
    assert result.next_attempt_at == NOW + timedelta(seconds=300)
    assert result.counted


def test_dispose_last_attempt_exhausts_contact() -> None:
    result = dispose(Outcome.NO_ANSWER, 3, 3, DELAYS, NOW)

    assert result.state == "exhausted"
    assert result.next_attempt_at is None


def test_dispose_outcome_not_in_delays_is_final() -> None:
    assert dispose(Outcome.REJECTED, 1, 3, DELAYS, NOW).state == "done"
    assert dispose(Outcome.ANSWERED, 1, 3, DELAYS, NOW).state == "done"


def test_dispose_cancelled_requeues_without_counting() -> None:
    result = dispose(Outcome.CANCELLED, 0, 3, DELAYS, NOW)

    assert result == result.__class__("pending", NOW, counted=False)
