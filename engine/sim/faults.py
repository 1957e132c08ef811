"""
Fault injection: dropped WebSockets, slow or failing REST calls.

Patterns are regular expressions searched in ``"<METHOD> <path>"``, e.g.
``"POST /ari/channels$"`` or ``"/bridges/.*/record"``. Delays are in wall
seconds (they model a slow network or a loaded Asterisk, not call time).
"""

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.sim.events import EventHub


@dataclass
class _Rule:
    pattern: re.Pattern[str]
    seconds: float = 0.0
    status: int = 0
    times: int | None = None
    message: str = "Internal Server Error"


class Faults:
    """The faults currently injected into one simulator."""

    def __init__(self, hub: "EventHub") -> None:
        self._hub = hub
        self._delays: list[_Rule] = []
        self._failures: list[_Rule] = []

    def drop_websockets(self) -> None:
        """Cut every events WebSocket at the TCP level, without a close frame."""
        asyncio.get_running_loop().create_task(self._hub.close_all(abort=True))

    def delay_rest(self, pattern: str, seconds: float) -> None:
        """Delay matching REST requests by ``seconds`` before handling them."""
        self._delays.append(_Rule(re.compile(pattern), seconds=seconds))

    def fail_rest(
        self,
        pattern: str,
        status: int = 500,
        times: int | None = 1,
        message: str = "Internal Server Error",
    ) -> None:
        """Answer matching REST requests with ``status`` (``times`` times, None: always)."""
        self._failures.append(
            _Rule(re.compile(pattern), status=status, times=times, message=message)
        )

    def clear(self) -> None:
        """Remove every injected REST fault."""
        self._delays.clear()
        self._failures.clear()

    def delay_for(self, request_line: str) -> float:
        """Total delay for one request."""
        return sum(r.seconds for r in self._delays if r.pattern.search(request_line))

    def failure_for(self, request_line: str) -> tuple[int, str] | None:
        """The injected failure for one request, consuming one use."""
        for rule in self._failures:
            if rule.pattern.search(request_line):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._failures.remove(rule)
                return rule.status, rule.message

        return None

    def to_json(self) -> dict[str, Any]:
        """The injected faults as plain data."""
        return {
            "delays": [
                {"pattern": r.pattern.pattern, "seconds": r.seconds}
                for r in self._delays
            ],
            "failures": [
                {"pattern": r.pattern.pattern, "status": r.status, "times": r.times}
                for r in self._failures
            ],
        }
