"""
The ARI REST operations the engine uses, as typed methods.

Each method is one request: it spells the parameters the way the traces show
them on the wire, and parses the answer into a model. Errors come from
``AriRest``: ``AriNotFoundError`` for a resource that is gone (catch it alone
for the hang-up race), ``AriRequestError`` for any other error status,
``AriConnectionError`` when Asterisk cannot be reached.
"""

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from engine.ari.models import (
    Bridge,
    Channel,
    LiveRecording,
    Playback,
    StoredRecording,
    bridges_from_json,
    channels_from_json,
)
from engine.ari.rest import AriRest


def _seg(value: str) -> str:
    # Ids are caller-chosen and used verbatim by Asterisk; escape every
    # character that would change the path, "/" included.
    return quote(value, safe="")


def _args(app_args: Iterable[str]) -> str | None:
    joined = ",".join(app_args)
    return joined or None


def _media(media: str | Iterable[str]) -> str:
    return media if isinstance(media, str) else ",".join(media)


def _vars_body(variables: Mapping[str, str] | None) -> dict[str, Any] | None:
    return {"variables": dict(variables)} if variables else None


class AriOperations:
    """REST methods shared by ``AriClient``; needs ``rest`` and ``app``."""

    rest: AriRest
    app: str

    # Channels

    async def originate(
        self,
        endpoint: str,
        *,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        app_args: Iterable[str] = (),
        caller_id: str | None = None,
        timeout: int | None = None,  # noqa: ASYNC109 - ARI's ring timeout, sent on
        variables: Mapping[str, str] | None = None,
        originator: str | None = None,
    ) -> Channel:
        """
        Originate a call into this app (``POST /channels``).

        The answer comes back in state ``Down`` before anything is dialled;
        events about the channel may arrive before this returns.
        """
        params = {
            "endpoint": endpoint,
            "app": self.app,
            "appArgs": _args(app_args),
            "callerId": caller_id,
            "timeout": timeout,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
        }
        data = await self.rest.request(
            "POST", "/channels", params=params, body=_vars_body(variables)
        )

        return Channel.from_json(data)

    async def create_channel(
        self,
        endpoint: str,
        *,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        app_args: Iterable[str] = (),
        variables: Mapping[str, str] | None = None,
        originator: str | None = None,
    ) -> Channel:
        """Create a channel in Stasis without dialling it; ``dial`` follows."""
        params = {
            "endpoint": endpoint,
            "app": self.app,
            "appArgs": _args(app_args),
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
        }
        data = await self.rest.request(
            "POST", "/channels/create", params=params, body=_vars_body(variables)
        )

        return Channel.from_json(data)

    async def dial(
        self,
        channel_id: str,
        *,
        timeout: int | None = None,  # noqa: ASYNC109 - ARI's ring timeout, sent on
        caller: str | None = None,
    ) -> None:
        """Dial a channel made by ``create_channel``."""
        params = {"timeout": timeout, "caller": caller}
        await self.rest.request(
            "POST", f"/channels/{_seg(channel_id)}/dial", params=params
        )

    async def hangup(
        self, channel_id: str, reason: str = "normal", *, reason_code: int | None = None
    ) -> None:
        """Hang up a channel with a reason (or a numeric Q.850 ``reason_code``)."""
        params = {"reason_code": reason_code} if reason_code else {"reason": reason}
        await self.rest.request(
            "DELETE", f"/channels/{_seg(channel_id)}", params=params
        )

    async def answer(self, channel_id: str) -> None:
        """Answer a channel that is in Stasis."""
        await self.rest.request("POST", f"/channels/{_seg(channel_id)}/answer")

    async def ring(self, channel_id: str) -> None:
        """Indicate ringing to a channel."""
        await self.rest.request("POST", f"/channels/{_seg(channel_id)}/ring")

    async def get_channel(self, channel_id: str) -> Channel:
        """A fresh snapshot of one channel."""
        data = await self.rest.request("GET", f"/channels/{_seg(channel_id)}")

        return Channel.from_json(data)

    async def list_channels(self) -> tuple[Channel, ...]:
        """Every live channel on the server."""
        return channels_from_json(await self.rest.request("GET", "/channels") or [])

    async def play(
        self,
        channel_id: str,
        media: str | Iterable[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        """Play media (``sound:beep``, ...) to a channel."""
        params = {"media": _media(media), "playbackId": playback_id, "lang": lang}
        data = await self.rest.request(
            "POST", f"/channels/{_seg(channel_id)}/play", params=params
        )

        return Playback.from_json(data)

    async def get_playback(self, playback_id: str) -> Playback:
        """A playback's current state."""
        data = await self.rest.request("GET", f"/playbacks/{_seg(playback_id)}")

        return Playback.from_json(data)

    async def stop_playback(self, playback_id: str) -> None:
        """Stop a playback; it still ends with ``PlaybackFinished``."""
        await self.rest.request("DELETE", f"/playbacks/{_seg(playback_id)}")

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        """Set a channel variable."""
        params = {"variable": name, "value": value}
        await self.rest.request(
            "POST", f"/channels/{_seg(channel_id)}/variable", params=params
        )

    async def get_variable(self, channel_id: str, name: str) -> str:
        """Read a channel variable; ``AriNotFoundError`` if unset or no channel."""
        data = await self.rest.request(
            "GET", f"/channels/{_seg(channel_id)}/variable", params={"variable": name}
        )

        return str(data.get("value", "")) if isinstance(data, dict) else ""

    async def snoop(
        self,
        channel_id: str,
        *,
        snoop_id: str | None = None,
        spy: str = "both",
        whisper: str = "none",
        app_args: Iterable[str] = (),
    ) -> Channel:
        """Start a snoop channel on a channel, into this app."""
        params = {
            "spy": spy,
            "whisper": whisper,
            "app": self.app,
            "appArgs": _args(app_args),
            "snoopId": snoop_id,
        }
        data = await self.rest.request(
            "POST", f"/channels/{_seg(channel_id)}/snoop", params=params
        )

        return Channel.from_json(data)

    async def start_moh(self, channel_id: str, *, moh_class: str | None = None) -> None:
        """Start music on hold on a channel."""
        await self.rest.request(
            "POST", f"/channels/{_seg(channel_id)}/moh", params={"mohClass": moh_class}
        )

    async def stop_moh(self, channel_id: str) -> None:
        """Stop music on hold on a channel."""
        await self.rest.request("DELETE", f"/channels/{_seg(channel_id)}/moh")

    # Bridges

    async def create_bridge(
        self,
        bridge_id: str | None = None,
        *,
        type: str = "mixing",
        name: str | None = None,
    ) -> Bridge:
        """Create a bridge, with a caller-chosen id when one is given."""
        path = "/bridges" if bridge_id is None else f"/bridges/{_seg(bridge_id)}"
        data = await self.rest.request(
            "POST", path, params={"type": type, "name": name}
        )

        return Bridge.from_json(data)

    async def get_bridge(self, bridge_id: str) -> Bridge:
        """A fresh snapshot of one bridge."""
        return Bridge.from_json(
            await self.rest.request("GET", f"/bridges/{_seg(bridge_id)}")
        )

    async def list_bridges(self) -> tuple[Bridge, ...]:
        """Every bridge on the server."""
        return bridges_from_json(await self.rest.request("GET", "/bridges") or [])

    async def destroy_bridge(self, bridge_id: str) -> None:
        """Delete a bridge (bridges outlive their channels)."""
        await self.rest.request("DELETE", f"/bridges/{_seg(bridge_id)}")

    async def add_channel(
        self, bridge_id: str, channel_id: str, *, role: str | None = None
    ) -> None:
        """Put a channel into a bridge."""
        params = {"channel": channel_id, "role": role}
        await self.rest.request(
            "POST", f"/bridges/{_seg(bridge_id)}/addChannel", params=params
        )

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        """Take a channel out of a bridge."""
        await self.rest.request(
            "POST",
            f"/bridges/{_seg(bridge_id)}/removeChannel",
            params={"channel": channel_id},
        )

    async def play_on_bridge(
        self,
        bridge_id: str,
        media: str | Iterable[str],
        *,
        playback_id: str | None = None,
    ) -> Playback:
        """Play media to everyone in a bridge."""
        params = {"media": _media(media), "playbackId": playback_id}
        data = await self.rest.request(
            "POST", f"/bridges/{_seg(bridge_id)}/play", params=params
        )

        return Playback.from_json(data)

    async def start_bridge_moh(
        self, bridge_id: str, *, moh_class: str | None = None
    ) -> None:
        """Start music on hold in a bridge."""
        await self.rest.request(
            "POST", f"/bridges/{_seg(bridge_id)}/moh", params={"mohClass": moh_class}
        )

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        """Stop music on hold in a bridge."""
        await self.rest.request("DELETE", f"/bridges/{_seg(bridge_id)}/moh")

    # Recordings

    async def record_bridge(
        self,
        bridge_id: str,
        name: str,
        *,
        format: str = "wav",
        if_exists: str = "fail",
        max_duration_seconds: int | None = None,
        beep: bool | None = None,
        terminate_on: str | None = None,
    ) -> LiveRecording:
        """Start recording a bridge; the answer is ``queued``."""
        params = {
            "name": name,
            "format": format,
            "ifExists": if_exists,
            "maxDurationSeconds": max_duration_seconds,
            "beep": beep,
            "terminateOn": terminate_on,
        }
        data = await self.rest.request(
            "POST", f"/bridges/{_seg(bridge_id)}/record", params=params
        )

        return LiveRecording.from_json(data)

    async def get_live_recording(self, name: str) -> LiveRecording:
        """A recording in progress; ``AriNotFoundError`` once it has finished."""
        data = await self.rest.request("GET", f"/recordings/live/{_seg(name)}")

        return LiveRecording.from_json(data)

    async def stop_recording(self, name: str) -> None:
        """Stop a live recording and keep the file."""
        await self.rest.request("POST", f"/recordings/live/{_seg(name)}/stop")

    async def get_stored_recording(self, name: str) -> StoredRecording:
        """A finished recording's metadata."""
        data = await self.rest.request("GET", f"/recordings/stored/{_seg(name)}")

        return StoredRecording.from_json(data)

    async def list_stored_recordings(self) -> tuple[StoredRecording, ...]:
        """Every finished recording on the server."""
        data = await self.rest.request("GET", "/recordings/stored") or []

        return tuple(StoredRecording.from_json(item) for item in data)

    async def download_recording(self, name: str) -> bytes:
        """The recording's file (a WAV for ``format="wav"``)."""
        return await self.rest.request_bytes(
            "GET", f"/recordings/stored/{_seg(name)}/file"
        )

    async def delete_stored_recording(self, name: str) -> None:
        """Delete a finished recording from Asterisk's disk."""
        await self.rest.request("DELETE", f"/recordings/stored/{_seg(name)}")

    # Server and application

    async def asterisk_info(self) -> dict[str, Any]:
        """``GET /asterisk/info``: build, system, config and status."""
        data = await self.rest.request("GET", "/asterisk/info")

        return data if isinstance(data, dict) else {}

    async def ping(self) -> dict[str, Any]:
        """``GET /asterisk/ping``: ``{"ping": "pong", "asterisk_id": ...}``."""
        data = await self.rest.request("GET", "/asterisk/ping")

        return data if isinstance(data, dict) else {}

    async def subscribe(self, event_source: str) -> dict[str, Any]:
        """Subscribe this app to e.g. ``endpoint:PJSIP/6001``."""
        data = await self.rest.request(
            "POST",
            f"/applications/{_seg(self.app)}/subscription",
            params={"eventSource": event_source},
        )

        return data if isinstance(data, dict) else {}

    async def unsubscribe(self, event_source: str) -> dict[str, Any]:
        """Remove a subscription (they belong to the app and survive reconnects)."""
        data = await self.rest.request(
            "DELETE",
            f"/applications/{_seg(self.app)}/subscription",
            params={"eventSource": event_source},
        )

        return data if isinstance(data, dict) else {}
