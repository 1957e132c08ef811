"""The reconnect delay policy: capped, fully jittered, reset only when stable."""

import random

from engine.ari.backoff import Backoff


class _Top(random.Random):
    """Always draws the top of the range, to see the ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


class _Bottom(random.Random):
    """Always draws the bottom of the range, to see the floor."""

    def uniform(self, a: float, b: float) -> float:
        return a


def test_backoff_ceiling_doubles_then_caps():
    backoff = Backoff(base=0.5, cap=4.0, rng=_Top())

    delays = [backoff.next_delay() for _ in range(6)]

    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_backoff_zero_draw_keeps_floor():
    backoff = Backoff(floor=0.05, rng=_Bottom())

    assert backoff.next_delay() == 0.05


def test_backoff_full_jitter_stays_in_range():
    backoff = Backoff(base=1.0, cap=8.0, floor=0.0, rng=random.Random(7))

    delays = [backoff.next_delay() for _ in range(200)]

    assert all(0.0 <= d <= 8.0 for d in delays)
    assert len(set(delays)) > 150


def test_backoff_short_connection_keeps_counting():
    backoff = Backoff(stable_after=10.0, rng=_Top())
    backoff.next_delay()
    backoff.next_delay()

    backoff.connection_ended(lived=0.01)

    assert backoff.attempt == 2


def test_backoff_stable_connection_resets():
    backoff = Backoff(stable_after=10.0, rng=_Top())
    backoff.next_delay()
    backoff.next_delay()

    backoff.connection_ended(lived=10.0)

    assert backoff.attempt == 0
    assert backoff.next_delay() == backoff.base


def test_backoff_huge_attempt_does_not_overflow():
    backoff = Backoff(cap=30.0, rng=_Top(), attempt=10_000)

    assert backoff.next_delay() == 30.0
