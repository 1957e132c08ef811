"""
HTTP plumbing shared by the ARI routes: responses, parameters, lookups.
"""

from typing import Any

import orjson
from aiohttp import web

from engine.sim.channels import Channel
from engine.sim.exceptions import AriResponseError, bad_request
from engine.sim.pbx import Pbx

PBX = web.AppKey("pbx", Pbx)


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON response encoded with orjson, as Asterisk sends it (compact)."""
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json"
    )


def no_content() -> web.Response:
    """``204 No Content``."""
    return web.Response(status=204)


def error_response(exc: AriResponseError) -> web.Response:
    """The JSON error body Asterisk sends (``message``, or ``error``)."""
    response = json_response({exc.key: exc.message}, exc.status)
    if exc.reason:
        response.set_status(exc.status, exc.reason)

    return response


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"

    return str(value)


async def read_params(request: web.Request) -> tuple[dict[str, Any], Any]:
    """Query parameters merged with a JSON body's scalar fields, and the body."""
    params: dict[str, Any] = dict(request.query)
    body: Any = None
    if request.body_exists:
        raw = await request.read()
        if raw.strip():
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise bad_request("Error parsing request body") from exc
    if isinstance(body, dict):
        for key, value in body.items():
            if key not in params and not isinstance(value, dict | list):
                params[key] = _as_text(value)

    return params, body


def body_variables(body: Any) -> dict[str, str]:
    """``{"variables": {...}}`` from a body; anything else is ignored, as in Asterisk."""
    if isinstance(body, dict) and isinstance(body.get("variables"), dict):
        return {str(k): _as_text(v) for k, v in body["variables"].items()}

    return {}


def pbx_of(request: web.Request) -> Pbx:
    """The simulated Asterisk serving this request."""
    return request.app[PBX]


def channel_of(request: web.Request, *, status: int = 404) -> Channel:
    """The channel named in the path, or ``Channel not found``."""
    ch = pbx_of(request).channels.get(request.match_info["channel_id"])
    if ch is None:
        raise AriResponseError(status, "Channel not found")

    return ch


def require_stasis(ch: Channel, status: int = 409) -> None:
    """Refuse to control a channel that no application controls."""
    if not ch.in_stasis:
        raise AriResponseError(status, "Channel not in Stasis application")
