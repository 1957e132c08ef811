"""Shared helpers of the ARI client's integration tests (not a test module)."""

import asyncio
from collections.abc import Callable

from engine.ari import Event

# Generous: the simulator runs at time_scale 0.01, so waits are milliseconds.
WAIT_SECONDS = 10.0


class EventRecorder:
    """An ``"*"`` handler that keeps every event and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Condition()

    async def __call__(self, event: Event) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of(self, channel_id: str) -> list[Event]:
        """The events about one channel, in the order they were handled."""
        return [e for e in self.events if e.channel_id == channel_id]

    def types(self, channel_id: str) -> list[str]:
        """The types of the events about one channel."""
        return [e.type for e in self.of(channel_id)]

    async def wait_for(
        self,
        event_type: str,
        channel_id: str | None = None,
        *,
        where: Callable[[Event], bool] = lambda e: True,
    ) -> Event:
        """The first event of a type (about a channel) matching ``where``."""

        def match() -> Event | None:
            return next(
                (
                    e
                    for e in self.events
                    if e.type == event_type
                    and (channel_id is None or e.channel_id == channel_id)
                    and where(e)
                ),
                None,
            )

        async with asyncio.timeout(WAIT_SECONDS), self._changed:
            await self._changed.wait_for(lambda: match() is not None)
        found = match()
        assert found is not None

        return found
