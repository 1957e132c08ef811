"""Tests of the injectable clocks."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from engine.clock import FakeClock, SystemClock


def test_system_clock_now_is_aware_utc() -> None:
    now = SystemClock().now()

    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_fake_clock_advance_moves_time() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))

    clock.advance(timedelta(minutes=5))

    assert clock.now() == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def test_fake_clock_set_converts_to_utc() -> None:
    clock = FakeClock()

    clock.set(datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))))

    assert clock.now() == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert clock.now().tzinfo == UTC


def test_fake_clock_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FakeClock(datetime(2026, 1, 1))
