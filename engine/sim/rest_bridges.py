"""
ARI ``/bridges`` routes.
"""

from aiohttp import web

from engine.sim.bridges import Bridge
from engine.sim.channels import Channel
from engine.sim.exceptions import AriResponseError, bad_request
from engine.sim.rest import json_response, no_content, pbx_of, read_params

routes = web.RouteTableDef()
PREFIX = "/ari/bridges"


def _bridge(request: web.Request) -> Bridge:
    return pbx_of(request).bridges.get(request.match_info["bridge_id"])


@routes.get(PREFIX)
async def list_bridges(request: web.Request) -> web.Response:
    """All bridges."""
    return json_response([b.to_json() for b in pbx_of(request).bridges.all.values()])


@routes.post(PREFIX)
@routes.post(PREFIX + "/{bridge_id}")
async def create(request: web.Request) -> web.Response:
    """Create a bridge, with a caller-chosen id when given."""
    params, _ = await read_params(request)
    bridge_id = request.match_info.get("bridge_id") or params.get("bridgeId")
    bridge = pbx_of(request).bridges.create(
        bridge_id, params.get("type"), params.get("name")
    )

    return json_response(bridge.to_json())


@routes.get(PREFIX + "/{bridge_id}")
async def get_bridge(request: web.Request) -> web.Response:
    """One bridge."""
    return json_response(_bridge(request).to_json())


@routes.delete(PREFIX + "/{bridge_id}")
async def destroy(request: web.Request) -> web.Response:
    """Destroy a bridge."""
    bridge = pbx_of(request).bridges.all.get(request.match_info["bridge_id"])
    if bridge is None:
        raise AriResponseError(404, "Bridge not found", reason="Not found")
    pbx_of(request).bridges.destroy(bridge)

    return no_content()


def _channels(request: web.Request, params: dict[str, str]) -> list[Channel]:
    names = [n for n in params.get("channel", "").split(",") if n]
    if not names:
        raise bad_request("Missing parameter channel")
    pbx = pbx_of(request)
    found = [pbx.channels.get(n) for n in names]
    chans = [c for c in found if c is not None]
    if len(chans) != len(found):
        raise bad_request("Channel not found")

    return chans


@routes.post(PREFIX + "/{bridge_id}/addChannel")
async def add_channel(request: web.Request) -> web.Response:
    """Put channels into the bridge."""
    params, _ = await read_params(request)
    bridge = _bridge(request)
    chans = _channels(request, params)
    for ch in chans:
        if not ch.in_stasis:
            raise AriResponseError(422, "Channel not in Stasis application")
    for ch in chans:
        pbx_of(request).bridges.add(bridge, ch)

    return no_content()


@routes.post(PREFIX + "/{bridge_id}/removeChannel")
async def remove_channel(request: web.Request) -> web.Response:
    """Take channels out of the bridge."""
    params, _ = await read_params(request)
    bridge = _bridge(request)
    chans = _channels(request, params)
    for ch in chans:
        if not ch.in_stasis:
            raise AriResponseError(422, "Channel not in Stasis application")
        if ch.bridge_id != bridge.id:
            raise AriResponseError(422, "Channel not in this bridge")
    for ch in chans:
        pbx_of(request).bridges.leave(ch)

    return no_content()


@routes.post(PREFIX + "/{bridge_id}/play")
@routes.post(PREFIX + "/{bridge_id}/play/{playback_id}")
async def play(request: web.Request) -> web.Response:
    """Play media to everyone in the bridge."""
    params, _ = await read_params(request)
    bridge = _bridge(request)
    playback = pbx_of(request).playbacks.start(
        f"bridge:{bridge.id}",
        list(bridge.apps),
        params.get("media", ""),
        request.match_info.get("playback_id") or params.get("playbackId"),
        params.get("lang"),
    )

    return json_response(playback.to_json(), 201)


@routes.post(PREFIX + "/{bridge_id}/record")
async def record(request: web.Request) -> web.Response:
    """Record the bridge (the recording joins as a participant)."""
    params, _ = await read_params(request)
    bridge = pbx_of(request).bridges.all.get(request.match_info["bridge_id"])
    if bridge is None:
        raise AriResponseError(404, "Bridge not found", reason="Not found")
    rec = pbx_of(request).recordings.start(
        f"bridge:{bridge.id}", list(bridge.apps), params
    )

    return json_response(rec.to_json("queued"), 201)


@routes.post(PREFIX + "/{bridge_id}/moh")
@routes.delete(PREFIX + "/{bridge_id}/moh")
async def moh(request: web.Request) -> web.Response:
    """Music on hold for the bridge: accepted, no events."""
    await read_params(request)
    _bridge(request)

    return no_content()
