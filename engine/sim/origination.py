"""
Originate and create: parse the endpoint, allocate channels, start the call.

Endpoints understood:

- ``Local/<exten>@<context>``: a Local pair. Contexts come from
  ``PbxConfig.local_contexts`` (customer or operator dialplan); any other
  context is accepted and dies at once with cause 0, as Asterisk does.
- ``PJSIP/<number>@<trunk>``: a customer through a trunk (party rules).
- ``PJSIP/<ext>``: an operator softphone; ``500 Allocation failed`` unless
  it is registered.
"""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from engine.sim.calls import Call, LocalCall, PjsipCall
from engine.sim.channels import Channel, parse_caller_id
from engine.sim.exceptions import AriResponseError, bad_request
from engine.sim.parties import Behaviour
from engine.sim.pbx import Origination, Pbx

ALLOCATION_FAILED = AriResponseError(500, "Allocation failed", key="error")
OPERATOR = replace(Behaviour.answer(after=0.5), label="operator")


def _number_of(endpoint: str) -> str:
    resource = endpoint.partition("/")[2]

    return resource.partition("@")[0]


def _args(params: dict[str, Any]) -> list[str]:
    text = params.get("appArgs") or ""

    return text.split(",") if text else []


def validate(params: dict[str, Any], *, need_app: bool) -> str:
    """Check the parameters Asterisk checks first; return the endpoint."""
    endpoint = params.get("endpoint")
    if not endpoint:
        raise bad_request("Endpoint must be specified")
    if not params.get("app") and (need_app or not params.get("extension")):
        raise bad_request("Application or extension must be specified")
    if "/" not in endpoint:
        raise bad_request("Invalid endpoint specified")

    return str(endpoint)


def place(
    pbx: Pbx, params: dict[str, Any], variables: dict[str, str], *, mode: str
) -> Channel:
    """Allocate the channel(s) of an originate (``mode="originate"``) or create."""
    try:
        endpoint = validate(params, need_app=mode == "create")
        timeout = _timeout(params.get("timeout"), 30.0)
        for key in ("channelId", "otherChannelId"):
            if params.get(key) and params[key] in pbx.channels:
                raise AriResponseError(
                    409, "Channel with given unique ID already exists"
                )
        call = _allocate(pbx, params, variables, endpoint, mode)
    except AriResponseError as exc:
        _record(pbx, params, variables, None, mode, exc.status)
        raise
    call.endpoint = endpoint
    call.variables = dict(variables)
    _record(pbx, params, variables, call.leg.id, mode, 200)
    if mode == "originate":
        call.start_timeout(timeout)
        pbx.clock.soon(call.start)
    else:
        # The response snapshot is taken before the channel enters Stasis.
        pbx.clock.soon(_created_into_stasis, pbx, call, variables)

    return call.leg


def _allocate(
    pbx: Pbx,
    params: dict[str, Any],
    variables: dict[str, str],
    endpoint: str,
    mode: str,
) -> Call:
    tech, _, resource = endpoint.partition("/")
    if tech == "Local":
        return _local(pbx, params, variables, resource, mode)
    if tech == "PJSIP":
        return _pjsip(pbx, params, variables, resource, mode)

    raise ALLOCATION_FAILED


def dial(pbx: Pbx, ch: Channel, params: dict[str, Any]) -> None:
    """``POST /channels/{id}/dial`` on a channel made by ``/channels/create``."""
    call: Call | None = ch.call
    if call is None or call.mode != "create" or call.dialled:
        raise AriResponseError(409, "Channel is not in a state to be dialed")
    _record(
        pbx, {"endpoint": call.endpoint}, call.variables, ch.id, "dial", 204, call=call
    )
    call.start_timeout(_timeout(params.get("timeout"), 0.0))
    call.start()


def _timeout(value: Any, default: float) -> float | None:
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise bad_request("timeout must be a number") from exc

    return number if number > 0 else None


def _local(
    pbx: Pbx,
    params: dict[str, Any],
    variables: dict[str, str],
    resource: str,
    mode: str,
) -> Call:
    exten, _, context = resource.partition("@")
    context = context.partition("/")[0] or "default"
    role = pbx.config.local_contexts.get(context)
    suffix = pbx.ids.pair_suffix()
    leg = pbx.new_channel(
        params.get("channelId"), f"Local/{resource}-{suffix};1", "Local"
    )
    other = params.get("otherChannelId")
    if not other and params.get("channelId"):
        other = f"{leg.id};2"
    half = pbx.new_channel(other, f"Local/{resource}-{suffix};2", "Local")
    half.state, half.context, half.exten, half.priority = "Ring", context, exten, 0
    leg.context, leg.exten = context, exten
    _dress_leg(leg, params, variables, mode)
    behaviour = OPERATOR if role == "operator" else pbx.parties.resolve(exten)
    call = LocalCall(
        pbx,
        leg,
        half,
        role,
        behaviour,
        mode=mode,
        app=params.get("app"),
        args=_args(params),
        dialstring=resource.partition("/")[0],
    )
    if mode == "originate":
        _subscribe(pbx, params, leg, half)
        _copy_variables_to_half(pbx, call, variables)
    else:
        _subscribe(pbx, params, leg)

    return call


def _copy_variables_to_half(
    pbx: Pbx, call: LocalCall, variables: dict[str, str]
) -> None:
    caller = call.leg.caller

    def copy() -> None:
        half = call.half
        for name, value in reversed(list(variables.items())):
            pbx.channel_event(half, "ChannelVarset", variable=name, value=value)
        half.variables.update(variables)
        if any(caller):
            half.caller = half.connected = caller
            pbx.channel_event(
                half,
                "ChannelCallerId",
                caller_presentation=0,
                caller_presentation_txt="Presentation Allowed, Not Screened",
            )
            pbx.channel_event(half, "ChannelConnectedLine")

    pbx.clock.soon(copy)


def _dress_leg(
    leg: Channel, params: dict[str, Any], variables: dict[str, str], mode: str
) -> None:
    leg.variables.update(variables)
    if mode == "originate":
        leg.caller = leg.connected = parse_caller_id(params.get("callerId"))
        leg.app_name, leg.app_data = "AppDial2", "(Outgoing Line)"
    leg.resting_app = (leg.app_name, leg.app_data)


def _subscribe(pbx: Pbx, params: dict[str, Any], *channels: Channel) -> None:
    app = params.get("app")
    if app:
        for ch in channels:
            pbx.subscribe(ch, app)


def _pjsip(
    pbx: Pbx,
    params: dict[str, Any],
    variables: dict[str, str],
    resource: str,
    mode: str,
) -> Call:
    target, _, trunk = resource.partition("@")
    if trunk:
        leg, behaviour, default_caller = _trunk_leg(pbx, params, target, trunk)
    else:
        leg, behaviour, default_caller = _softphone_leg(pbx, params, target)
    leg.protocol_id = pbx.ids.uuid()
    call = PjsipCall(
        pbx,
        leg,
        behaviour,
        mode=mode,
        app=params.get("app"),
        args=_args(params),
        dialstring=resource,
    )
    _announce_pjsip(pbx, leg, params, variables, default_caller, mode)
    _subscribe(pbx, params, leg)

    return call


Leg = tuple[Channel, Behaviour, tuple[str, str]]


def _trunk_leg(pbx: Pbx, params: dict[str, Any], number: str, trunk: str) -> Leg:
    """A customer through a trunk: the party rules decide."""
    if pbx.config.trunks is not None and trunk not in pbx.config.trunks:
        raise ALLOCATION_FAILED
    name = f"PJSIP/{trunk}-{pbx.ids.tech_suffix('PJSIP')}"
    leg = pbx.new_channel(params.get("channelId"), name, "PJSIP")
    leg.context = "from-trunk"

    return leg, pbx.parties.resolve(number), ("", "")


def _softphone_leg(pbx: Pbx, params: dict[str, Any], ext: str) -> Leg:
    """An operator softphone: only a registered one can be called."""
    phone = pbx.softphones.phones.get(ext)
    if phone is None or not phone.registered:
        raise ALLOCATION_FAILED
    name = f"PJSIP/{ext}-{pbx.ids.tech_suffix('PJSIP')}"
    leg = pbx.new_channel(params.get("channelId"), name, "PJSIP")
    leg.context, leg.endpoint_key = "from-softphones", phone.key

    return leg, pbx.softphones.behaviour_for(phone), (f"Operator {ext}", ext)


def _announce_pjsip(
    pbx: Pbx,
    leg: Channel,
    params: dict[str, Any],
    variables: dict[str, str],
    default_caller: tuple[str, str],
    mode: str,
) -> None:
    """Build the SIP leg step by step; only endpoint subscribers see these steps."""
    leg.caller = default_caller
    if leg.endpoint_key:
        phone = pbx.softphones.phones[leg.endpoint_key.partition("/")[2]]
        pbx.softphones.channel_added(phone, leg)
    pbx.channel_event(leg, "ChannelCreated")
    if mode == "create":
        leg.variables.update(variables)
        return
    leg.app_name, leg.app_data = "AppDial2", "(Outgoing Line)"
    leg.resting_app = (leg.app_name, leg.app_data)
    pbx.channel_event(
        leg,
        "ChannelDialplan",
        dialplan_app="AppDial2",
        dialplan_app_data="(Outgoing Line)",
    )
    caller = parse_caller_id(params.get("callerId"))
    if any(caller):
        leg.caller = caller
        pbx.channel_event(
            leg,
            "ChannelCallerId",
            caller_presentation=0,
            caller_presentation_txt="Presentation Allowed, Not Screened",
        )
        leg.connected = caller
        pbx.channel_event(leg, "ChannelConnectedLine")
    for name, value in variables.items():
        pbx.set_var(leg, name, value)


def _created_into_stasis(pbx: Pbx, call: Call, variables: dict[str, str]) -> None:
    leg = call.leg
    if call.app is None:
        return
    for name in variables:
        leg.variables.pop(name, None)
    for name, value in variables.items():
        pbx.set_var(leg, name, value)
    data = ",".join([call.app, *call.args])
    leg.app_name, leg.app_data = "Stasis", data
    pbx.channel_event(
        leg, "ChannelDialplan", dialplan_app="Stasis", dialplan_app_data=data
    )
    leg.app_name, leg.app_data = leg.resting_app
    pbx.enter_stasis(leg, call.app, call.args)


def _record(
    pbx: Pbx,
    params: dict[str, Any],
    variables: dict[str, str],
    channel_id: str | None,
    method: str,
    status: int,
    call: Call | None = None,
) -> None:
    if method == "create":
        return
    endpoint = str(params.get("endpoint", ""))
    app = params.get("app")
    args = _args(params)
    if call is not None:
        app, args = call.app, call.args
    pbx.originations.append(
        Origination(
            at=pbx.clock.now_datetime(),
            endpoint=endpoint,
            number=_number_of(endpoint),
            caller_id=params.get("callerId") or params.get("caller"),
            variables=variables,
            channel_id=channel_id,
            app_args=args,
            method=method,
            status=status,
            app=app,
            wall_at=datetime.now(UTC),
        )
    )
