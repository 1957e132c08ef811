"""
The engine's source of "now", injected wherever a decision depends on time.

Scheduling and compliance never call ``datetime.now()`` directly: they take a
``Clock``, so tests can hold time still or move it forward without sleeping.
SQL ``now()`` remains fine for audit stamps and lease expiry.
"""

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current time."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("fake clock start must be timezone-aware")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The time the test last set."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward (or back, with a negative delta) and return it."""
        self._now += delta

        return self._now

    def set(self, when: datetime) -> None:
        """Jump to an exact, timezone-aware moment."""
        if when.tzinfo is None:
            raise ValueError("fake clock time must be timezone-aware")
        self._now = when.astimezone(UTC)
