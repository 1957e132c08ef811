"""
Typed models of the ARI resources and events the engine uses.

JSON from Asterisk is parsed here, at the edge, into frozen dataclasses; the
rest of the engine never indexes raw dicts. Parsing is lenient about missing
optional keys (Asterisk omits ``channelvars`` unless ``ari.conf`` sets it, and
different event types carry different fields) but strict about the ids that
identify a resource: a channel without ``id`` is a ``ValueError``.

Every event keeps the parsed message in ``Event.raw``, so an event type this
module does not model is still delivered, with the envelope fields set.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Events whose ``peer`` is a channel (Dial). PeerStatusChange also has a
# ``peer`` key, but it is a SIP peer status, not a channel.
_CHANNEL_PEER_EVENTS = frozenset({"Dial"})


def parse_time(value: object) -> datetime:
    """
    Parse an ARI timestamp such as ``2026-12-03T15:56:33.291+0000``.

    A missing or malformed value gives the Unix epoch rather than an error, so
    one odd field never costs the engine a whole event.
    """
    if not isinstance(value, str) or not value:
        return _EPOCH
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return _EPOCH


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _required(data: Mapping[str, Any], key: str, error: str) -> str:
    # The ids that name a resource: without one the object is useless, so it
    # is refused (ValueError) rather than given an empty id.
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(error)

    return value


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


@dataclass(frozen=True, slots=True)
class CallerId:
    """A caller or connected-line identity."""

    name: str = ""
    number: str = ""

    @classmethod
    def from_json(cls, data: object) -> "CallerId":
        """Build from ARI's ``{"name": ..., "number": ...}`` (or nothing)."""
        if not isinstance(data, Mapping):
            return cls()
        return cls(name=_str(data, "name"), number=_str(data, "number"))


@dataclass(frozen=True, slots=True)
class Dialplan:
    """Where a channel is in the dialplan (ARI's ``DialplanCEP``)."""

    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""

    @classmethod
    def from_json(cls, data: object) -> "Dialplan":
        """Build from ARI's ``dialplan`` object (or nothing)."""
        if not isinstance(data, Mapping):
            return cls()
        return cls(
            context=_str(data, "context"),
            exten=_str(data, "exten"),
            priority=_int_or_none(data.get("priority")) or 0,
            app_name=_str(data, "app_name"),
            app_data=_str(data, "app_data"),
        )


@dataclass(frozen=True, slots=True)
class Channel:
    """A snapshot of one channel."""

    id: str
    name: str = ""
    state: str = ""
    protocol_id: str = ""
    caller: CallerId = field(default_factory=CallerId)
    connected: CallerId = field(default_factory=CallerId)
    accountcode: str = ""
    dialplan: Dialplan = field(default_factory=Dialplan)
    creationtime: datetime = _EPOCH
    language: str = ""
    channelvars: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_local_dialplan_half(self) -> bool:
        """True for the ``;2`` half of a Local pair, which never enters Stasis."""
        return self.name.startswith("Local/") and self.name.endswith(";2")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Channel":
        """Build from an ARI ``Channel`` object; ``id`` is required."""
        channel_id = _required(data, "id", "channel without an id")
        variables = data.get("channelvars")
        return cls(
            id=channel_id,
            name=_str(data, "name"),
            state=_str(data, "state"),
            protocol_id=_str(data, "protocol_id"),
            caller=CallerId.from_json(data.get("caller")),
            connected=CallerId.from_json(data.get("connected")),
            accountcode=_str(data, "accountcode"),
            dialplan=Dialplan.from_json(data.get("dialplan")),
            creationtime=parse_time(data.get("creationtime")),
            language=_str(data, "language"),
            channelvars=(
                {str(k): "" if v is None else str(v) for k, v in variables.items()}
                if isinstance(variables, Mapping)
                else {}
            ),
        )


@dataclass(frozen=True, slots=True)
class Bridge:
    """A snapshot of one bridge; ``channels`` holds channel ids."""

    id: str
    technology: str = ""
    bridge_type: str = ""
    bridge_class: str = ""
    creator: str = ""
    name: str = ""
    channels: tuple[str, ...] = ()
    creationtime: datetime = _EPOCH
    video_mode: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Bridge":
        """Build from an ARI ``Bridge`` object; ``id`` is required."""
        bridge_id = _required(data, "id", "bridge without an id")
        channels = data.get("channels")
        return cls(
            id=bridge_id,
            technology=_str(data, "technology"),
            bridge_type=_str(data, "bridge_type"),
            bridge_class=_str(data, "bridge_class"),
            creator=_str(data, "creator"),
            name=_str(data, "name"),
            channels=tuple(str(c) for c in channels) if channels else (),
            creationtime=parse_time(data.get("creationtime")),
            video_mode=_str(data, "video_mode"),
        )


@dataclass(frozen=True, slots=True)
class LiveRecording:
    """A recording in progress (or just finished, in RecordingFinished)."""

    name: str
    format: str = ""
    state: str = ""
    target_uri: str = ""
    duration: int | None = None
    talking_duration: int | None = None
    silence_duration: int | None = None
    cause: str = ""

    @property
    def bridge_id(self) -> str | None:
        """The recorded bridge's id when the target is ``bridge:<id>``."""
        kind, _, target = self.target_uri.partition(":")
        return target if kind == "bridge" and target else None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "LiveRecording":
        """Build from an ARI ``LiveRecording`` object; ``name`` is required."""
        name = _required(data, "name", "recording without a name")
        return cls(
            name=name,
            format=_str(data, "format"),
            state=_str(data, "state"),
            target_uri=_str(data, "target_uri"),
            duration=_int_or_none(data.get("duration")),
            talking_duration=_int_or_none(data.get("talking_duration")),
            silence_duration=_int_or_none(data.get("silence_duration")),
            cause=_str(data, "cause"),
        )


@dataclass(frozen=True, slots=True)
class StoredRecording:
    """A finished recording on Asterisk's disk."""

    name: str
    format: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "StoredRecording":
        """Build from an ARI ``StoredRecording`` object."""
        return cls(name=_str(data, "name"), format=_str(data, "format"))


@dataclass(frozen=True, slots=True)
class Playback:
    """A media playback on a channel or bridge."""

    id: str
    media_uri: str = ""
    target_uri: str = ""
    language: str = ""
    state: str = ""
    next_media_uri: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Playback":
        """Build from an ARI ``Playback`` object; ``id`` is required."""
        playback_id = _required(data, "id", "playback without an id")
        return cls(
            id=playback_id,
            media_uri=_str(data, "media_uri"),
            target_uri=_str(data, "target_uri"),
            language=_str(data, "language"),
            state=_str(data, "state"),
            next_media_uri=_str(data, "next_media_uri"),
        )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An endpoint such as ``PJSIP/6001`` and its state."""

    technology: str
    resource: str
    state: str = ""
    channel_ids: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Endpoint":
        """Build from an ARI ``Endpoint`` object."""
        ids = data.get("channel_ids")
        return cls(
            technology=_str(data, "technology"),
            resource=_str(data, "resource"),
            state=_str(data, "state"),
            channel_ids=tuple(str(i) for i in ids) if ids else (),
        )


def _optional(data: Mapping[str, Any], key: str, model: Any) -> Any:
    # A nested resource that is absent or malformed is left as None: the
    # event itself is still worth delivering.
    value = data.get(key)
    if not isinstance(value, Mapping):
        return None
    try:
        return model.from_json(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Event:
    """
    One message from the events WebSocket.

    The envelope (``type``, ``timestamp``, ``asterisk_id``, ``application``)
    is always set; the rest is set when the message carries it. ``peer`` is the
    originated channel of a ``Dial`` event. ``raw`` is the whole parsed message.
    """

    type: str
    timestamp: datetime
    asterisk_id: str
    application: str
    raw: Mapping[str, Any]
    channel: Channel | None = None
    peer: Channel | None = None
    bridge: Bridge | None = None
    recording: LiveRecording | None = None
    playback: Playback | None = None
    endpoint: Endpoint | None = None
    dialstatus: str | None = None
    dialstring: str | None = None
    cause: int | None = None
    cause_txt: str | None = None
    soft: bool = False
    args: tuple[str, ...] = ()
    variable: str | None = None
    value: str | None = None

    @property
    def channel_id(self) -> str | None:
        """The channel this event is about: ``peer`` for Dial, else ``channel``."""
        subject = self.peer or self.channel
        return subject.id if subject else None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Event":
        """Build from one parsed WebSocket message (must carry ``type``)."""
        event_type = _required(data, "type", "event without a type")
        args = data.get("args")
        value = data.get("value")
        return cls(
            type=event_type,
            timestamp=parse_time(data.get("timestamp")),
            asterisk_id=_str(data, "asterisk_id"),
            application=_str(data, "application"),
            raw=data,
            channel=_optional(data, "channel", Channel),
            peer=(
                _optional(data, "peer", Channel)
                if event_type in _CHANNEL_PEER_EVENTS
                else None
            ),
            bridge=_optional(data, "bridge", Bridge),
            recording=_optional(data, "recording", LiveRecording),
            playback=_optional(data, "playback", Playback),
            endpoint=_optional(data, "endpoint", Endpoint),
            dialstatus=_optional_str(data, "dialstatus"),
            dialstring=_optional_str(data, "dialstring"),
            cause=_int_or_none(data.get("cause")),
            cause_txt=_optional_str(data, "cause_txt"),
            soft=data.get("soft") is True,
            args=tuple(str(a) for a in args) if isinstance(args, list) else (),
            variable=_optional_str(data, "variable"),
            value=None if value is None else str(value),
        )


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def parse_event(payload: str | bytes) -> Event:
    """Parse one WebSocket text frame; ``ValueError`` if it is not an event."""
    data = orjson.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("event is not a json object")
    return Event.from_json(data)


@dataclass(frozen=True, slots=True)
class AriSnapshot:
    """
    What Asterisk holds right after a (re)connect of the events WebSocket.

    ``channels`` and ``bridges`` are every live channel and bridge on the
    server (not only this app's). ``restarted`` is True when Asterisk's
    ``startup_time`` or entity id (``asterisk_id``) differs from the previous
    connect's: Asterisk was restarted (or replaced) and every call from
    before is gone. ``reconnect`` is False for the first connect of this
    client.
    """

    channels: tuple[Channel, ...]
    bridges: tuple[Bridge, ...]
    asterisk_id: str
    startup_time: datetime
    restarted: bool
    reconnect: bool

    def channel(self, channel_id: str) -> Channel | None:
        """The live channel with this id, or None if it is gone."""
        return next((c for c in self.channels if c.id == channel_id), None)

    @property
    def channel_ids(self) -> frozenset[str]:
        """Ids of all live channels."""
        return frozenset(c.id for c in self.channels)

    @property
    def bridge_ids(self) -> frozenset[str]:
        """Ids of all live bridges."""
        return frozenset(b.id for b in self.bridges)


def channels_from_json(items: Sequence[Mapping[str, Any]]) -> tuple[Channel, ...]:
    """Parse a ``GET /channels`` answer."""
    return tuple(Channel.from_json(item) for item in items)


def bridges_from_json(items: Sequence[Mapping[str, Any]]) -> tuple[Bridge, ...]:
    """Parse a ``GET /bridges`` answer."""
    return tuple(Bridge.from_json(item) for item in items)
