"""
Errors of the web app.

    EngineError
    └── WebError              a request the web app refuses
        └── ApiError          carries the HTTP status and a stable error code

Handlers raise ``ApiError``; the error middleware turns it (and aiohttp's own
HTTP errors) into a JSON body under ``/api/`` and an HTML page elsewhere.
Messages are lowercase with no trailing period.
"""

from engine.exceptions import EngineError


class WebError(EngineError):
    """Base class of the web app's errors."""


class ApiError(WebError):
    """A refused request: HTTP status, a stable code, and a message to show."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
