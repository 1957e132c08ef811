"""
The ``/_sim`` HTTP control API, for a bench or demo in another process.

Same credentials as ARI. JSON in, JSON out. See the package docstring for
the list of routes.
"""

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from engine.sim.exceptions import SimError
from engine.sim.parties import Behaviour, Model, RandomModel
from engine.sim.rest import json_response, no_content

if TYPE_CHECKING:
    from engine.sim.simulator import Simulator

SIM: web.AppKey["Simulator"] = web.AppKey("simulator")
routes = web.RouteTableDef()


def _sim(request: web.Request) -> "Simulator":
    return request.app[SIM]


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SimError("body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise SimError("body must be a JSON object")

    return data


def model_from_json(data: dict[str, Any]) -> Model:
    """``{"behaviour": {...}}`` or ``{"random": {...}}`` to a model."""
    if "random" in data:
        spec = dict(data["random"])
        for key in ("ring", "talk"):
            if key in spec:
                spec[key] = tuple(spec[key])
        try:
            return RandomModel(**spec)
        except TypeError as exc:
            raise SimError(f"bad random model: {exc}") from exc
    if "behaviour" in data:
        return Behaviour.from_json(data["behaviour"])
    raise SimError("give 'behaviour' or 'random'")


@routes.get("/_sim/state")
async def state(request: web.Request) -> web.Response:
    """A summary: channels, bridges, recordings, apps."""
    return json_response(_sim(request).state())


@routes.get("/_sim/originations")
async def originations(request: web.Request) -> web.Response:
    """Origination attempts from index ``since`` (default 0)."""
    since = int(request.query.get("since", "0"))
    records = _sim(request).originations[since:]

    return json_response([r.to_json() for r in records])


@routes.get("/_sim/parties")
async def parties(request: web.Request) -> web.Response:
    """The rule table and default model."""
    return json_response(_sim(request).parties.to_json())


@routes.put("/_sim/parties/default")
async def set_default(request: web.Request) -> web.Response:
    """Set the default model for unmatched numbers."""
    _sim(request).parties.default = model_from_json(await _body(request))

    return no_content()


@routes.post("/_sim/parties/rules")
async def add_rule(request: web.Request) -> web.Response:
    """Add a rule: ``{"match": "7999*", "behaviour": {...}}``."""
    data = await _body(request)
    if not data.get("match"):
        raise SimError("'match' is required")
    _sim(request).parties.set(str(data["match"]), model_from_json(data))

    return no_content()


@routes.delete("/_sim/parties/rules")
async def clear_rules(request: web.Request) -> web.Response:
    """Drop every rule."""
    _sim(request).parties.clear()

    return no_content()


@routes.post("/_sim/parties/trace-dialplan")
async def trace_dialplan(request: web.Request) -> web.Response:
    """Load the numbers of the reference traces' test dialplan."""
    _sim(request).load_trace_dialplan()

    return no_content()


@routes.post("/_sim/softphones/{ext}/{action}")
async def softphone(request: web.Request) -> web.Response:
    """register / unregister / configure / script / next_call / hangup."""
    sim, ext, action = (
        _sim(request),
        request.match_info["ext"],
        request.match_info["action"],
    )
    data = await _body(request)
    phones = sim.softphones
    if action == "register":
        phones.register(ext, float(data.get("answer_after", 0.5)))
    elif action == "unregister":
        phones.unregister(ext)
    elif action == "configure":
        phones.configure(ext)
    elif action == "script":
        spec = data.get("behaviour")
        phones.script(ext, Behaviour.from_json(spec) if spec else None)
    elif action == "next_call":
        phones.next_call(ext, Behaviour.from_json(data.get("behaviour") or {}))
    elif action == "hangup":
        return json_response({"hung_up": phones.hangup(ext)})
    else:
        raise SimError(f"unknown softphone action {action!r}")

    return json_response(phones.get(ext).to_json())


@routes.post("/_sim/channels/{channel_id}/far-hangup")
async def far_hangup(request: web.Request) -> web.Response:
    """The called party hangs up (``{"cause": 16}``)."""
    data = await _body(request)
    _sim(request).hangup_far_end(
        request.match_info["channel_id"], int(data.get("cause", 16))
    )

    return no_content()


@routes.post("/_sim/faults/drop-websockets")
async def drop_websockets(request: web.Request) -> web.Response:
    """Cut every events WebSocket."""
    _sim(request).faults.drop_websockets()

    return no_content()


@routes.post("/_sim/faults/delay")
async def delay(request: web.Request) -> web.Response:
    """Delay REST calls: ``{"pattern": "...", "seconds": 0.5}``."""
    data = await _body(request)
    _sim(request).faults.delay_rest(str(data["pattern"]), float(data["seconds"]))

    return no_content()


@routes.post("/_sim/faults/fail")
async def fail(request: web.Request) -> web.Response:
    """Fail REST calls: ``{"pattern": "...", "status": 500, "times": 1}``."""
    data = await _body(request)
    times = data.get("times", 1)
    _sim(request).faults.fail_rest(
        str(data["pattern"]),
        int(data.get("status", 500)),
        None if times is None else int(times),
    )

    return no_content()


@routes.get("/_sim/faults")
async def faults(request: web.Request) -> web.Response:
    """The injected faults."""
    return json_response(_sim(request).faults.to_json())


@routes.delete("/_sim/faults")
async def clear_faults(request: web.Request) -> web.Response:
    """Remove every injected REST fault."""
    _sim(request).faults.clear()

    return no_content()


@routes.post("/_sim/restart")
async def restart(request: web.Request) -> web.Response:
    """Restart the simulated Asterisk (``{"down_for": seconds}`` optional)."""
    data = await _body(request)
    sim = _sim(request)
    down_for = float(data.get("down_for", 0))
    if down_for > 0:
        # The listening socket goes away, so answer first and restart after.
        asyncio.get_running_loop().create_task(sim.restart(down_for))
        return json_response({"asterisk_id": sim.asterisk_id, "down_for": down_for})
    await sim.restart()

    return json_response({"asterisk_id": _sim(request).asterisk_id})
