"""
Errors of the simulator.

    EngineError
    └── SimError                 misuse of the simulator's Python API
        └── AriResponseError     an ARI request the simulated Asterisk refuses
"""

from engine.exceptions import EngineError


class SimError(EngineError):
    """The simulator was asked something it cannot do."""


class AriResponseError(SimError):
    """
    A refused ARI request: becomes an HTTP error response.

    ``key`` is the JSON body key: Asterisk says ``message`` almost everywhere
    but ``error`` for an originate whose channel cannot be allocated.
    """

    def __init__(
        self, status: int, message: str, *, key: str = "message", reason: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.key = key
        self.reason = reason


def not_found(what: str) -> AriResponseError:
    """The 404 Asterisk gives for an unknown channel, bridge, recording..."""
    return AriResponseError(404, f"{what} not found")


def bad_request(message: str) -> AriResponseError:
    """A 400 with Asterisk's message."""
    return AriResponseError(400, message)
