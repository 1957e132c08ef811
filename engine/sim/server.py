"""
The aiohttp application: authentication, errors, faults and the events socket.

Authentication is HTTP Basic or ``api_key=user:password`` in the query, for
REST, the events WebSocket and the ``/_sim`` control API alike. Unknown
paths get ``404 {"message": "Resource not found"}``.
"""

import asyncio
import base64
import binascii
import contextlib
import hmac
from collections.abc import Awaitable, Callable
from email.utils import formatdate

from aiohttp import WSMsgType, web

from engine.sim import rest_bridges, rest_channels, rest_resources
from engine.sim.events import EventSocket
from engine.sim.exceptions import AriResponseError, SimError
from engine.sim.faults import Faults
from engine.sim.pbx import Pbx
from engine.sim.rest import PBX, error_response, json_response

FAULTS = web.AppKey("faults", Faults)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REALM = 'Basic realm="Asterisk REST Interface"'


def _credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, password = decoded.partition(":")
        return user, password
    key = request.query.get("api_key")
    if key:
        user, _, password = key.partition(":")
        return user, password

    return None


def authorised(request: web.Request) -> bool:
    """Whether the request carries the simulator's credentials."""
    found = _credentials(request)
    if found is None:
        return False
    config = request.app[PBX].config
    user_ok = hmac.compare_digest(found[0].encode(), config.username.encode())
    password_ok = hmac.compare_digest(found[1].encode(), config.password.encode())

    return user_ok and password_ok


def unauthorised() -> web.Response:
    """Asterisk's 401."""
    response = json_response({"message": "Authentication required"}, 401)
    response.headers["WWW-Authenticate"] = REALM

    return response


@web.middleware
async def ari_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Auth, injected faults, and ARI-shaped errors for every request."""
    if not authorised(request):
        return unauthorised()
    faults = request.app[FAULTS]
    line = f"{request.method} {request.path}"
    if request.path.startswith("/ari/"):
        delay = faults.delay_for(line)
        if delay > 0:
            await asyncio.sleep(delay)
        failure = faults.failure_for(line)
        if failure is not None:
            return json_response({"message": failure[1]}, failure[0])
    try:
        return await handler(request)
    except AriResponseError as exc:
        return error_response(exc)
    except SimError as exc:
        return json_response({"message": str(exc)}, 400)
    except web.HTTPNotFound:
        return json_response({"message": "Resource not found"}, 404)
    except web.HTTPMethodNotAllowed:
        return json_response({"message": "Method Not Allowed"}, 405)


async def _asterisk_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = "Asterisk"
    response.headers.setdefault("Cache-Control", "no-cache, no-store")


def _missing_app_bytes() -> bytes:
    """The two responses Asterisk writes back to back for an upgrade without app."""
    date = formatdate(usegmt=True)
    html = (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n<html><head>\r\n'
        "<title>400 Bad Request</title>\r\n</head><body>\r\n<h1>Bad Request</h1>\r\n"
        "<p>HTTP request is missing param: [app]</p>\r\n<hr />\r\n"
        "<address>Asterisk</address>\r\n</body></html>\r\n"
    )
    first = (
        "HTTP/1.1 400 Bad Request\r\nServer: Asterisk\r\n"
        f"Date: {date}\r\nCache-Control: no-cache, no-store\r\n"
        f"Content-type: text/html\r\nContent-Length: {len(html)}\r\n\r\n{html}"
    )
    second = (
        "HTTP/1.1 400 Bad Request\r\nServer: Asterisk\r\n"
        f"Date: {date}\r\nCache-Control: no-cache, no-store\r\n"
        "Sec-WebSocket-Version: 7, 8, 13\r\nContent-Length: 0\r\n\r\n"
    )

    return (first + second).encode()


async def _refuse_without_app(request: web.Request) -> web.StreamResponse:
    """Write Asterisk's double 400 and keep the connection open, as it does."""
    transport = request.transport
    if transport is None:
        raise asyncio.CancelledError
    transport.write(_missing_app_bytes())
    for _ in range(600):
        if transport.is_closing():
            break
        await asyncio.sleep(0.05)
    transport.close()
    raise asyncio.CancelledError


async def events(request: web.Request) -> web.StreamResponse:
    """The events WebSocket (``/ari/events?app=...``)."""
    names = [a for a in request.query.get("app", "").split(",") if a]
    if not names:
        return await _refuse_without_app(request)
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    pbx = request.app[PBX]
    socket = EventSocket(ws, names, request.transport)
    pbx.hub.attach(socket)
    if request.query.get("subscribeAll", "false").lower() == "true":
        for name in names:
            pbx.hub.app(name).subscribe_all = True
    try:
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break
    finally:
        pbx.hub.detach(socket)
        with contextlib.suppress(Exception):
            await socket.close()

    return ws


async def _not_found(request: web.Request) -> web.Response:
    return json_response({"message": "Resource not found"}, 404)


def build_app(
    pbx: Pbx, faults: Faults, extra: list[web.RouteTableDef]
) -> web.Application:
    """The aiohttp application serving ARI (and any extra routes, e.g. /_sim)."""
    app = web.Application(middlewares=[ari_middleware], client_max_size=8 * 1024 * 1024)
    app[PBX] = pbx
    app[FAULTS] = faults
    app.router.add_get("/ari/events", events)
    for table in (
        rest_channels.routes,
        rest_bridges.routes,
        rest_resources.routes,
        *extra,
    ):
        app.router.add_routes(table)
    app.router.add_route("*", "/ari/{tail:.*}", _not_found)
    app.on_response_prepare.append(_asterisk_headers)

    return app
