"""
ARI ``/channels`` routes.
"""

from aiohttp import web

from engine.sim import origination
from engine.sim.channels import HANGUP_REASONS, Channel
from engine.sim.exceptions import AriResponseError, bad_request
from engine.sim.pbx import Pbx, Snoop
from engine.sim.rest import (
    body_variables,
    channel_of,
    json_response,
    no_content,
    pbx_of,
    read_params,
    require_stasis,
)

routes = web.RouteTableDef()
PREFIX = "/ari/channels"


@routes.get(PREFIX)
async def list_channels(request: web.Request) -> web.Response:
    """All live channels."""
    pbx = pbx_of(request)

    return json_response([pbx.snapshot(c) for c in pbx.channels.values()])


@routes.post(PREFIX)
async def originate(request: web.Request) -> web.Response:
    """Originate a call into an application."""
    params, body = await read_params(request)
    pbx = pbx_of(request)
    ch = origination.place(pbx, params, body_variables(body), mode="originate")

    return json_response(pbx.snapshot(ch))


@routes.post(PREFIX + "/create")
async def create(request: web.Request) -> web.Response:
    """Create a channel in Stasis without dialling it."""
    params, body = await read_params(request)
    pbx = pbx_of(request)
    ch = origination.place(pbx, params, body_variables(body), mode="create")

    return json_response(pbx.snapshot(ch))


@routes.get(PREFIX + "/{channel_id}")
async def get_channel(request: web.Request) -> web.Response:
    """One channel."""
    return json_response(pbx_of(request).snapshot(channel_of(request)))


@routes.post(PREFIX + "/{channel_id}")
async def originate_with_id(request: web.Request) -> web.Response:
    """Originate with the channel id in the path."""
    params, body = await read_params(request)
    params["channelId"] = request.match_info["channel_id"]
    pbx = pbx_of(request)
    ch = origination.place(pbx, params, body_variables(body), mode="originate")

    return json_response(pbx.snapshot(ch))


def _hangup_cause(params: dict[str, str]) -> int:
    reason, code = params.get("reason"), params.get("reason_code")
    if reason and code:
        raise bad_request("The reason and reason_code can't both be specified")
    if code:
        try:
            return int(code)
        except ValueError as exc:
            raise bad_request("Invalid reason_code") from exc
    if reason and reason not in HANGUP_REASONS:
        raise bad_request(f"Invalid reason {reason}")

    return HANGUP_REASONS[reason or "normal"]


@routes.delete(PREFIX + "/{channel_id}")
async def hangup(request: web.Request) -> web.Response:
    """Hang up a channel (``reason`` or ``reason_code``)."""
    params, _ = await read_params(request)
    ch = channel_of(request)
    pbx_of(request).hangup(ch, _hangup_cause(params))

    return no_content()


@routes.post(PREFIX + "/{channel_id}/dial")
async def dial(request: web.Request) -> web.Response:
    """Dial a channel made with ``/channels/create``."""
    params, _ = await read_params(request)
    ch = channel_of(request)
    require_stasis(ch)
    origination.dial(pbx_of(request), ch, params)

    return no_content()


@routes.post(PREFIX + "/{channel_id}/answer")
async def answer(request: web.Request) -> web.Response:
    """Answer a channel."""
    ch = channel_of(request)
    require_stasis(ch)
    pbx_of(request).set_state(ch, "Up")

    return no_content()


async def _controlled(request: web.Request) -> Channel:
    await read_params(request)
    ch = channel_of(request)
    require_stasis(ch)

    return ch


@routes.post(PREFIX + "/{channel_id}/ring")
@routes.delete(PREFIX + "/{channel_id}/ring")
@routes.post(PREFIX + "/{channel_id}/moh")
@routes.delete(PREFIX + "/{channel_id}/moh")
@routes.post(PREFIX + "/{channel_id}/mute")
@routes.delete(PREFIX + "/{channel_id}/mute")
@routes.post(PREFIX + "/{channel_id}/silence")
@routes.delete(PREFIX + "/{channel_id}/silence")
@routes.post(PREFIX + "/{channel_id}/dtmf")
async def media_control(request: web.Request) -> web.Response:
    """Ring, music on hold, mute, silence, DTMF: accepted, no events (trace 09)."""
    await _controlled(request)

    return no_content()


@routes.post(PREFIX + "/{channel_id}/hold")
@routes.delete(PREFIX + "/{channel_id}/hold")
async def hold(request: web.Request) -> web.Response:
    """Put on hold (ChannelHold) or take off hold (ChannelUnhold)."""
    ch = await _controlled(request)
    event = "ChannelHold" if request.method == "POST" else "ChannelUnhold"
    pbx_of(request).channel_event(ch, event)

    return no_content()


@routes.post(PREFIX + "/{channel_id}/continue")
async def continue_in_dialplan(request: web.Request) -> web.Response:
    """Leave Stasis; the simulated dialplan then hangs the channel up."""
    ch = await _controlled(request)
    pbx = pbx_of(request)
    pbx.leave_stasis(ch)
    pbx.clock.soon(pbx.hangup, ch, 16)

    return no_content()


@routes.post(PREFIX + "/{channel_id}/play")
@routes.post(PREFIX + "/{channel_id}/play/{playback_id}")
async def play(request: web.Request) -> web.Response:
    """Play media on a channel."""
    params, _ = await read_params(request)
    ch = channel_of(request)
    require_stasis(ch)
    playback = pbx_of(request).playbacks.start(
        f"channel:{ch.id}",
        list(ch.apps),
        params.get("media", ""),
        request.match_info.get("playback_id") or params.get("playbackId"),
        params.get("lang"),
    )

    return json_response(playback.to_json(), 201)


@routes.post(PREFIX + "/{channel_id}/record")
async def record(request: web.Request) -> web.Response:
    """Record a channel."""
    params, _ = await read_params(request)
    ch = channel_of(request)
    require_stasis(ch)
    rec = pbx_of(request).recordings.start(f"channel:{ch.id}", list(ch.apps), params)

    return json_response(rec.to_json("queued"), 201)


CHANNEL_FUNCTIONS = {
    "CHANNEL(state)": lambda c: c.state,
    "CHANNEL(name)": lambda c: c.name,
    "CHANNEL(uniqueid)": lambda c: c.id,
    "CHANNEL(language)": lambda c: c.language,
    "CALLERID(num)": lambda c: c.caller[1],
    "CALLERID(name)": lambda c: c.caller[0],
    "CONNECTEDLINE(num)": lambda c: c.connected[1],
    "CONNECTEDLINE(name)": lambda c: c.connected[0],
    "UNIQUEID": lambda c: c.id,
}


@routes.get(PREFIX + "/{channel_id}/variable")
async def get_variable(request: web.Request) -> web.Response:
    """Read a channel variable or a few dialplan functions."""
    params, _ = await read_params(request)
    name = params.get("variable")
    if not name:
        raise bad_request("Variable name is required")
    ch = pbx_of(request).channels.get(request.match_info["channel_id"])
    if ch is None:
        raise AriResponseError(
            404, "Provided channel was not found", reason="Channel Not Found"
        )
    function = CHANNEL_FUNCTIONS.get(name)
    if function is not None:
        return json_response({"value": function(ch)})
    if name not in ch.variables:
        raise AriResponseError(
            404, "Provided variable was not found", reason="Variable Not Found"
        )

    return json_response({"value": ch.variables[name]})


@routes.post(PREFIX + "/{channel_id}/variable")
async def set_variable(request: web.Request) -> web.Response:
    """Set a channel variable (ChannelVarset follows)."""
    params, _ = await read_params(request)
    name = params.get("variable")
    if not name:
        raise bad_request("Variable name is required")
    ch = channel_of(request)
    pbx_of(request).set_var(ch, name, params.get("value", ""))

    return no_content()


@routes.post(PREFIX + "/{channel_id}/snoop")
@routes.post(PREFIX + "/{channel_id}/snoop/{snoop_id}")
async def snoop(request: web.Request) -> web.Response:
    """Start a snoop channel on a channel, straight into an application."""
    params, _ = await read_params(request)
    target = channel_of(request)
    app = params.get("app")
    if not app:
        raise bad_request("Application name is required")
    for key in ("spy", "whisper"):
        if params.get(key, "none") not in ("none", "both", "out", "in"):
            raise bad_request(f"Invalid direction specified for {key}")
    pbx = pbx_of(request)
    snoop_id = request.match_info.get("snoop_id") or params.get("snoopId")
    if snoop_id and snoop_id in pbx.channels:
        raise AriResponseError(409, "Channel with given unique ID already exists")
    ch = pbx.new_channel(
        snoop_id, f"Snoop/{target.id}-{pbx.ids.tech_suffix('Snoop')}", "Snoop"
    )
    ch.state = "Up"
    pbx.snoops.setdefault(target.id, []).append(ch)
    args = params.get("appArgs", "").split(",") if params.get("appArgs") else []
    pbx.snoop_log.append(
        Snoop(
            ch.id,
            target.id,
            params.get("spy", "none"),
            params.get("whisper", "none"),
            args,
        )
    )
    pbx.subscribe(ch, app)
    pbx.bridges.refresh_peers(target.bridge_id)
    if not args:
        # A race in Asterisk: the snapshot may be taken before the snoop
        # channel enters Stasis (trace 06, second snoop).
        response = json_response(pbx.snapshot(ch))
        _snoop_enters(pbx, ch, app, args)
        return response
    _snoop_enters(pbx, ch, app, args)

    return json_response(pbx.snapshot(ch))


def _snoop_enters(pbx: Pbx, ch: Channel, app: str, args: list[str]) -> None:
    ch.resting_app = ("", "")
    ch.app_name, ch.app_data = "Stasis", ",".join([app, *args])
    ch.stasis_app, ch.stasis_args = app, args
    pbx.channel_event(ch, "StasisStart", args=list(args))
