"""
Simulated time, Asterisk's timestamp format and Asterisk-style identifiers.

The simulator runs on a scaled clock: with ``time_scale=0.01`` one simulated
second passes in 10 ms of wall time. Every timestamp the simulator reports
(event ``timestamp``, snapshot ``creationtime``, channel ids, recording
durations) is in simulated time, so durations read from events stay in
simulated seconds whatever the scale.
"""

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


class SimClock:
    """
    Simulated wall clock plus timers scaled by ``time_scale``.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._wall0 = time.time()
        self._mono0 = time.monotonic()
        self._prefix_second = -1
        self._prefix = ""

    def now(self) -> float:
        """Simulated seconds since the epoch."""
        return self._wall0 + (time.monotonic() - self._mono0) / self.time_scale

    def now_datetime(self) -> datetime:
        """Simulated now as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), UTC)

    def stamp(self, at: float | None = None) -> str:
        """Asterisk's timestamp form: ``2026-12-03T15:56:33.291+0000``."""
        at = self.now() if at is None else at
        second = int(at)
        if second != self._prefix_second:
            moment = datetime.fromtimestamp(second, UTC)
            self._prefix = moment.strftime("%Y-%m-%dT%H:%M:%S")
            self._prefix_second = second
        millis = int((at - second) * 1000)

        return f"{self._prefix}.{millis:03d}+0000"

    def later(
        self, delay: float, callback: Callable[..., Any], *args: Any
    ) -> asyncio.TimerHandle:
        """Call ``callback(*args)`` after ``delay`` simulated seconds."""
        loop = asyncio.get_running_loop()

        return loop.call_later(max(delay, 0.0) * self.time_scale, callback, *args)

    def soon(self, callback: Callable[..., Any], *args: Any) -> None:
        """Call ``callback(*args)`` on the next loop iteration."""
        asyncio.get_running_loop().call_soon(callback, *args)


class IdAllocator:
    """
    Hands out ids the way Asterisk does.

    Channel ids are ``<unix seconds>.<global counter>``; Local, Recorder and
    other internal pairs share one hexadecimal name counter; PJSIP and Snoop
    channel names have counters of their own.
    """

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._channel = 0
        self._pair = 0
        self._tech: dict[str, int] = {}

    def channel_id(self) -> str:
        """A fresh channel id, e.g. ``1796313393.0``."""
        value = f"{int(self._clock.now())}.{self._channel}"
        self._channel += 1

        return value

    def pair_suffix(self) -> str:
        """The next Local/Recorder name suffix, e.g. ``0000000b``."""
        value = f"{self._pair:08x}"
        self._pair += 1

        return value

    def tech_suffix(self, tech: str) -> str:
        """The next name suffix for one technology (``PJSIP``, ``Snoop``)."""
        count = self._tech.get(tech, 0)
        self._tech[tech] = count + 1

        return f"{count:08x}"

    @staticmethod
    def uuid() -> str:
        """A random UUID, as Asterisk uses for bridges and playbacks."""
        return str(uuid.uuid4())
