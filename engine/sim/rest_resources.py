"""
ARI routes for everything but channels and bridges: asterisk, applications,
endpoints, recordings, playbacks, sounds.
"""

from typing import Any

from aiohttp import web

from engine.sim.exceptions import AriResponseError, bad_request, not_found
from engine.sim.pbx import Pbx
from engine.sim.rest import json_response, no_content, pbx_of, read_params

routes = web.RouteTableDef()

MODULES = {
    "res_ari.so": ("Asterisk RESTful Interface", 12, "core"),
    "res_stasis.so": ("Stasis application support", 9, "core"),
    "chan_pjsip.so": ("PJSIP Channel Driver", 0, "core"),
    "app_dial.so": ("Dialing Application", 0, "core"),
}


def _info(pbx: Pbx) -> dict[str, Any]:
    return {
        "build": {
            "os": "Linux",
            "kernel": "6.18.44-fc-v1147",
            "machine": "x86_64",
            "options": "OPTIONAL_API",
            "date": "2026-12-03 15:36:47 UTC",
            "user": "root",
        },
        "system": {"version": "22.10.1", "entity_id": pbx.hub.asterisk_id},
        "config": {
            "name": "",
            "default_language": "en",
            "setid": {"user": "", "group": ""},
            "max_open_files": 8192,
        },
        "status": {"startup_time": pbx.startup, "last_reload_time": pbx.startup},
    }


@routes.get("/ari/asterisk/info")
async def info(request: web.Request) -> web.Response:
    """Build, system, config and status information (``only`` filters)."""
    params, _ = await read_params(request)
    data = _info(pbx_of(request))
    only = [o for o in params.get("only", "").split(",") if o]
    if only:
        data = {k: v for k, v in data.items() if k in only}

    return json_response(data)


@routes.get("/ari/asterisk/ping")
async def ping(request: web.Request) -> web.Response:
    """Liveness."""
    pbx = pbx_of(request)
    body = {
        "ping": "pong",
        "timestamp": pbx.clock.stamp(),
        "asterisk_id": pbx.hub.asterisk_id,
    }

    return json_response(body)


@routes.get("/ari/asterisk/variable")
async def get_global(request: web.Request) -> web.Response:
    """A global variable; unset ones read as empty."""
    params, _ = await read_params(request)
    if not params.get("variable"):
        raise bad_request("Variable name is required")

    return json_response({"value": pbx_of(request).globals.get(params["variable"], "")})


@routes.post("/ari/asterisk/variable")
async def set_global(request: web.Request) -> web.Response:
    """Set a global variable."""
    params, _ = await read_params(request)
    if not params.get("variable"):
        raise bad_request("Variable name is required")
    pbx_of(request).globals[params["variable"]] = params.get("value", "")

    return no_content()


def _module(name: str) -> dict[str, Any]:
    description, use_count, level = MODULES[name]
    return {
        "name": name,
        "description": description,
        "use_count": use_count,
        "status": "Running",
        "support_level": level,
    }


@routes.get("/ari/asterisk/modules")
async def modules(request: web.Request) -> web.Response:
    """Loaded modules (a representative few)."""
    return json_response([_module(n) for n in MODULES])


@routes.get("/ari/asterisk/modules/{name}")
async def module(request: web.Request) -> web.Response:
    """One module."""
    name = request.match_info["name"]
    if name not in MODULES:
        raise AriResponseError(404, "Module could not be found in running modules")

    return json_response(_module(name))


# -- applications -------------------------------------------------------------


def _listed(pbx: Pbx) -> list[Any]:
    return [a for a in pbx.hub.apps.values() if a.registered]


@routes.get("/ari/applications")
async def applications(request: web.Request) -> web.Response:
    """Applications with a WebSocket."""
    return json_response([a.to_json() for a in _listed(pbx_of(request))])


def _app(request: web.Request) -> Any:
    app = pbx_of(request).hub.apps.get(request.match_info["app"])
    if app is None or not (app.registered or app.endpoint_ids):
        raise not_found("Application")

    return app


@routes.get("/ari/applications/{app}")
async def application(request: web.Request) -> web.Response:
    """One application."""
    return json_response(_app(request).to_json())


def _sources(params: dict[str, str]) -> list[tuple[str, str]]:
    sources = [s for s in params.get("eventSource", "").split(",") if s]
    if not sources:
        raise bad_request("Missing parameter eventSource")
    parsed = []
    for source in sources:
        scheme, _, ident = source.partition(":")
        if scheme not in ("channel", "bridge", "endpoint", "deviceState") or not ident:
            raise bad_request("Invalid event source URI scheme")
        parsed.append((scheme, ident))

    return parsed


def _check_source(pbx: Pbx, scheme: str, ident: str) -> None:
    if scheme == "channel":
        exists = ident in pbx.channels
    elif scheme == "bridge":
        exists = ident in pbx.bridges.all
    elif scheme == "endpoint":
        tech, _, resource = ident.partition("/")
        exists = tech == "PJSIP" and (not resource or resource in pbx.softphones.phones)
    else:
        exists = True
    if not exists:
        raise AriResponseError(422, "Event source does not exist")


@routes.post("/ari/applications/{app}/subscription")
async def subscribe(request: web.Request) -> web.Response:
    """Subscribe an application to channels, bridges or endpoints."""
    params, _ = await read_params(request)
    app, pbx = _app(request), pbx_of(request)
    sources = _sources(params)
    for scheme, ident in sources:
        _check_source(pbx, scheme, ident)
    for scheme, ident in sources:
        if scheme == "channel":
            pbx.subscribe(pbx.channels[ident], app.name)
        elif scheme == "bridge":
            bridge = pbx.bridges.all[ident]
            if app.name not in bridge.apps:
                bridge.apps.append(app.name)
            app.bridge_ids.add(ident)
        elif scheme == "endpoint":
            app.endpoint_ids.append(ident)

    return json_response(app.to_json())


@routes.delete("/ari/applications/{app}/subscription")
async def unsubscribe(request: web.Request) -> web.Response:
    """Drop subscriptions."""
    params, _ = await read_params(request)
    app, pbx = _app(request), pbx_of(request)
    for scheme, ident in _sources(params):
        if scheme == "endpoint":
            if ident not in app.endpoint_ids:
                raise AriResponseError(
                    409, "Application not subscribed to event source"
                )
            app.endpoint_ids.remove(ident)
        elif scheme == "channel":
            ch = pbx.channels.get(ident)
            if ch is None or app.name not in ch.apps:
                raise AriResponseError(
                    409, "Application not subscribed to event source"
                )
            ch.apps.remove(app.name)
            app.channel_ids.discard(ident)
        elif scheme == "bridge":
            bridge = pbx.bridges.all.get(ident)
            if bridge is None or app.name not in bridge.apps:
                raise AriResponseError(
                    409, "Application not subscribed to event source"
                )
            bridge.apps.remove(app.name)
            app.bridge_ids.discard(ident)

    return json_response(app.to_json())


# -- endpoints ----------------------------------------------------------------


@routes.get("/ari/endpoints")
@routes.get("/ari/endpoints/{tech}")
async def endpoints(request: web.Request) -> web.Response:
    """Softphone endpoints (PJSIP)."""
    tech = request.match_info.get("tech")
    if tech is not None and tech != "PJSIP":
        raise AriResponseError(404, f"No Endpoints found - invalid tech {tech}")
    phones = pbx_of(request).softphones.phones

    return json_response(
        [p.to_json() for p in sorted(phones.values(), key=lambda p: p.ext)]
    )


@routes.get("/ari/endpoints/{tech}/{resource}")
async def endpoint(request: web.Request) -> web.Response:
    """One endpoint."""
    phones = pbx_of(request).softphones.phones
    phone = phones.get(request.match_info["resource"])
    if request.match_info["tech"] != "PJSIP" or phone is None:
        raise not_found("Endpoint")

    return json_response(phone.to_json())


# -- recordings, playbacks, sounds ------------------------------------------------


@routes.get("/ari/recordings/stored")
async def stored(request: web.Request) -> web.Response:
    """Finished recordings."""
    recordings = pbx_of(request).recordings.stored.values()

    return json_response([r.to_json() for r in recordings])


@routes.get("/ari/recordings/stored/{name:.+}/file")
async def stored_file(request: web.Request) -> web.Response:
    """The audio of a finished recording (``audio/wav``)."""
    data = pbx_of(request).recordings.file(request.match_info["name"])

    return web.Response(body=data, content_type="audio/wav")


@routes.post("/ari/recordings/stored/{name:.+}/copy")
async def stored_copy(request: web.Request) -> web.Response:
    """Copy a finished recording."""
    params, _ = await read_params(request)
    recordings = pbx_of(request).recordings
    source = recordings.get_stored(request.match_info["name"])
    target = params.get("destinationRecordingName")
    if not target:
        raise bad_request("Missing parameter destinationRecordingName")
    if target in recordings.stored:
        raise AriResponseError(
            409, "A recording with the same name already exists on the system"
        )
    recordings.stored[target] = type(source)(target, source.format, source.duration)

    return json_response(recordings.stored[target].to_json())


@routes.get("/ari/recordings/stored/{name:.+}")
async def stored_one(request: web.Request) -> web.Response:
    """One finished recording."""
    return json_response(
        pbx_of(request).recordings.get_stored(request.match_info["name"]).to_json()
    )


@routes.delete("/ari/recordings/stored/{name:.+}")
async def stored_delete(request: web.Request) -> web.Response:
    """Delete a finished recording."""
    pbx_of(request).recordings.delete(request.match_info["name"])

    return no_content()


@routes.get("/ari/recordings/live/{name}")
async def live(request: web.Request) -> web.Response:
    """A recording in progress."""
    return json_response(
        pbx_of(request).recordings.get_live(request.match_info["name"]).to_json()
    )


@routes.post("/ari/recordings/live/{name}/stop")
async def live_stop(request: web.Request) -> web.Response:
    """Stop a recording and keep it."""
    recordings = pbx_of(request).recordings
    recordings.finish(recordings.get_live(request.match_info["name"]))

    return no_content()


@routes.delete("/ari/recordings/live/{name}")
async def live_cancel(request: web.Request) -> web.Response:
    """Stop a recording and discard it."""
    recordings = pbx_of(request).recordings
    recordings.discard(recordings.get_live(request.match_info["name"]))

    return no_content()


@routes.post("/ari/recordings/live/{name}/{action:pause|mute}")
@routes.delete("/ari/recordings/live/{name}/{action:pause|mute}")
async def live_pause(request: web.Request) -> web.Response:
    """Pause or mute: accepted (the simulated audio is not affected)."""
    pbx_of(request).recordings.get_live(request.match_info["name"])

    return no_content()


@routes.get("/ari/playbacks/{playback_id}")
async def playback(request: web.Request) -> web.Response:
    """One playback."""
    return json_response(
        pbx_of(request).playbacks.get(request.match_info["playback_id"]).to_json()
    )


@routes.delete("/ari/playbacks/{playback_id}")
async def playback_stop(request: web.Request) -> web.Response:
    """Stop a playback."""
    pbx_of(request).playbacks.stop(request.match_info["playback_id"])

    return no_content()


@routes.post("/ari/playbacks/{playback_id}/control")
async def playback_control(request: web.Request) -> web.Response:
    """Pause, restart, forward...: accepted."""
    params, _ = await read_params(request)
    pbx_of(request).playbacks.get(request.match_info["playback_id"])
    if params.get("operation") not in (
        "restart",
        "pause",
        "unpause",
        "reverse",
        "forward",
    ):
        raise bad_request("Invalid operation")

    return no_content()


def _sound(name: str) -> dict[str, Any]:
    return {"id": name, "formats": [{"language": "en", "format": "slin"}]}


@routes.get("/ari/sounds")
async def sounds(request: web.Request) -> web.Response:
    """The sounds the simulator can play."""
    return json_response([_sound(n) for n in sorted(pbx_of(request).playbacks.sounds)])


@routes.get("/ari/sounds/{sound_id}")
async def sound(request: web.Request) -> web.Response:
    """One sound."""
    name = request.match_info["sound_id"]
    if name not in pbx_of(request).playbacks.sounds:
        raise not_found("Sound")

    return json_response(_sound(name))


@routes.get("/ari/deviceStates")
@routes.get("/ari/mailboxes")
async def empty_lists(request: web.Request) -> web.Response:
    """Device states and mailboxes: none."""
    return json_response([])
