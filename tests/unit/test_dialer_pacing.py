"""Tests of the calls-per-second bucket and the concurrency caps."""

import pytest

from engine.dialer.pacing import Pacer, TokenBucket


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_token_bucket_spaces_calls_evenly() -> None:
    tick = Ticker()
    bucket = TokenBucket(rate=4.0, monotonic=tick)

    first = bucket.try_take()
    second = bucket.try_take()

    assert first == 0.0
    assert second == pytest.approx(0.25)


def test_token_bucket_idle_time_does_not_allow_burst() -> None:
    tick = Ticker()
    bucket = TokenBucket(rate=10.0, monotonic=tick)
    bucket.try_take()
    tick.t += 60.0

    taken = [bucket.try_take() == 0.0 for _ in range(3)]

    assert taken == [True, False, False]


def test_token_bucket_rate_over_one_second_matches_rate() -> None:
    tick = Ticker()
    bucket = TokenBucket(rate=5.0, monotonic=tick)
    started = 0
    for _ in range(100):
        if bucket.try_take() == 0.0:
            started += 1
        tick.t += 0.01

    assert started == 5


def test_token_bucket_zero_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate=0)


def test_pacer_free_respects_campaign_and_engine_caps() -> None:
    pacer = Pacer(engine_cap=5)
    for _ in range(3):
        pacer.started(1)
    pacer.started(2)

    assert pacer.free(1, max_concurrent=3) == 0
    assert pacer.free(2, max_concurrent=10) == 1
    assert pacer.free(3, max_concurrent=10) == 1


def test_pacer_ended_frees_slot_and_signals() -> None:
    pacer = Pacer(engine_cap=1)
    pacer.started(7)
    pacer.changed.clear()

    pacer.ended(7)

    assert pacer.free(7, max_concurrent=1) == 1
    assert pacer.changed.is_set()
    assert pacer.active() == 0
