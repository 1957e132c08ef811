"""
The REST half of the ARI client: one aiohttp session, Basic auth, JSON in and
out through orjson, and ARI's error answers turned into exceptions.

ARI reports errors as ``{"message": ...}`` and, for a failed channel
allocation, as ``{"error": ...}``; both become ``AriRequestError.message``.
A 404, or the 400 ``Channel not found`` that addChannel / removeChannel give
for a channel that hung up, becomes ``AriNotFoundError``.

Credentials live only in the sessions' default ``Authorization`` header;
URLs never carry ``api_key`` and nothing here logs headers or credentials.
"""

import base64
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
import structlog

from engine.ari.exceptions import (
    AriConnectionError,
    AriNotFoundError,
    AriProtocolError,
    AriRequestError,
)

log = structlog.get_logger(__name__)

Params = Mapping[str, str | int | float | bool | None]

_JSON_HEADERS = {"Content-Type": "application/json"}


def basic_auth_header(username: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic auth."""
    if ":" in username:
        raise ValueError("an ari username must not contain ':'")
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")

    return "Basic " + token


def encode_params(params: Params | None) -> dict[str, str]:
    """Drop ``None`` values and spell the rest as ARI expects them on the wire."""
    if not params:
        return {}
    encoded: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded[key] = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            encoded[key] = str(int(value))
        else:
            encoded[key] = str(value)

    return encoded


def error_message(body: bytes, reason: str) -> str:
    """ARI's error text: ``message``, else ``error``, else the HTTP reason."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error"):
            if isinstance(data.get(key), str):
                return str(data[key])
    text = body.decode("utf-8", "replace").strip() if body else ""

    return text[:200] or reason or "no message"


def _is_not_found(status: int, message: str) -> bool:
    # addChannel / removeChannel answer 400, not 404, for a channel that has
    # gone: the same hang-up race, so it gets the same exception.
    return status == 404 or (status == 400 and message == "Channel not found")


class AriRest:
    """A REST session against one Asterisk's ``/ari`` root."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
        limit: int = 100,
    ) -> None:
        self.root = base_url.rstrip("/") + "/ari"
        self._headers = {"Authorization": basic_auth_header(username, password)}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared session, created on first use (inside the event loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._limit),
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
            )
        return self._session

    async def close(self) -> None:
        """Close the session and its pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: object = None,
    ) -> Any:
        """Send one request; the parsed JSON answer, or None for an empty one."""
        raw = await self.request_bytes(method, path, params=params, body=body)
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise AriProtocolError(
                "answer is not valid json", method=method, path=path
            ) from exc

    async def request_bytes(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: object = None,
    ) -> bytes:
        """Send one request and return the raw answer body (for media files)."""
        started = time.perf_counter()
        data = None if body is None else orjson.dumps(body)
        try:
            async with self.session.request(
                method,
                self.root + path,
                params=encode_params(params),
                data=data,
                headers=_JSON_HEADERS if data is not None else None,
            ) as resp:
                raw = await resp.read()
                status, reason = resp.status, resp.reason or ""
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise AriConnectionError(
                f"request failed: {type(exc).__name__}", method=method, path=path
            ) from exc
        log.debug(
            "ari_request_completed",
            method=method,
            path=path,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        if status >= 400:
            message = error_message(raw, reason)
            error = (
                AriNotFoundError if _is_not_found(status, message) else AriRequestError
            )
            raise error(status, message, method=method, path=path)

        return raw
