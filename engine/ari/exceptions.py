"""
Errors raised by the ARI client.

    EngineError                      (engine.exceptions)
    └── AriError                     anything ARI-related went wrong
        ├── AriConnectionError       Asterisk could not be reached, or the
        │                            connection broke before an answer came
        ├── AriProtocolError         Asterisk answered with something that is
        │                            not ARI (a body that is not JSON)
        └── AriRequestError          Asterisk answered a request with an error
            └── AriNotFoundError     the channel, bridge, recording ... is gone
                                     (404, or 400 "Channel not found" from
                                     addChannel / removeChannel)

``AriNotFoundError`` is the normal race of telephony: a channel hangs up while
a request about it is in flight. Callers catch it alone and carry on.
"""

from engine.exceptions import EngineError


class AriError(EngineError):
    """Base class of every ARI client error."""


class AriConnectionError(AriError):
    """Asterisk could not be reached or the connection broke mid-request."""

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class AriProtocolError(AriError):
    """Asterisk's answer could not be understood as ARI."""

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class AriRequestError(AriError):
    """Asterisk answered a REST request with an error status."""

    def __init__(self, status: int, message: str, *, method: str, path: str) -> None:
        super().__init__(f"{method} {path} failed with {status}: {message}")
        self.status = status
        self.message = message
        self.method = method
        self.path = path


class AriNotFoundError(AriRequestError):
    """The resource named in the request does not exist (any more)."""
