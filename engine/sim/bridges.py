"""
Bridges: membership, the events it produces and the mixing technology.

A mixing bridge reports ``simple_bridge`` while it holds two participants or
fewer and ``softmix`` above that; a bridge recording counts as a participant
(trace 05). Apps are subscribed to a bridge when one of their channels enters
it, so a bridge made over REST produces no ``BridgeCreated``.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.sim.channels import Channel
from engine.sim.exceptions import AriResponseError, not_found

if TYPE_CHECKING:
    from engine.sim.pbx import Pbx

BRIDGE_TYPES = {
    "mixing",
    "holding",
    "dtmf_events",
    "proxy_media",
    "video_sfu",
    "video_single",
    "sdp_label",
}


@dataclass(eq=False)
class Bridge:
    """One bridge and its participants."""

    id: str
    name: str
    bridge_type: str
    creationtime: str
    channels: list[str] = field(default_factory=list)
    recorders: list[str] = field(default_factory=list)
    apps: list[str] = field(default_factory=list)
    alive: bool = True

    @property
    def technology(self) -> str:
        """What Asterisk reports as the bridge technology right now."""
        if self.bridge_type == "holding":
            return "holding_bridge"
        if len(self.channels) + len(self.recorders) > 2:
            return "softmix"

        return "simple_bridge"

    def to_json(self) -> dict[str, Any]:
        """The ARI ``Bridge`` model."""
        return {
            "id": self.id,
            "technology": self.technology,
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": list(self.channels),
            "creationtime": self.creationtime,
            "video_mode": "talker",
        }


class Bridges:
    """All bridges of the simulated Asterisk."""

    def __init__(self, pbx: "Pbx") -> None:
        self._pbx = pbx
        self.all: dict[str, Bridge] = {}

    def get(self, bridge_id: str) -> Bridge:
        """The bridge, or 404 ``Bridge not found``."""
        bridge = self.all.get(bridge_id)
        if bridge is None:
            raise not_found("Bridge")

        return bridge

    def create(
        self, bridge_id: str | None, kind: str | None, name: str | None
    ) -> Bridge:
        """Create a bridge; an id already in use is a 409."""
        if bridge_id and bridge_id in self.all:
            raise AriResponseError(409, "Bridge with the same bridgeId already exists")
        kinds = [k.strip() for k in (kind or "mixing").split(",") if k.strip()]
        if not kinds or any(k not in BRIDGE_TYPES for k in kinds):
            raise AriResponseError(
                500,
                "Unable to create bridge. Possible duplicate bridge id '(null)'",
                reason="Internal Error",
            )
        bridge_type = "holding" if "holding" in kinds else "mixing"
        bridge = Bridge(
            bridge_id or self._pbx.ids.uuid(),
            name or "",
            bridge_type,
            self._pbx.clock.stamp(),
        )
        self.all[bridge.id] = bridge

        return bridge

    def add(self, bridge: Bridge, ch: Channel) -> None:
        """A channel enters the bridge."""
        if ch.bridge_id == bridge.id:
            return
        if ch.bridge_id is not None:
            self.leave(ch)
        # ChannelEnteredBridge still shows the technology from before the
        # join; Asterisk switches to softmix just after (trace 05).
        shown = bridge.technology
        bridge.channels.append(ch.id)
        ch.bridge_id = bridge.id
        for name in ch.apps:
            if name not in bridge.apps:
                bridge.apps.append(name)
                self._pbx.hub.app(name).bridge_ids.add(bridge.id)
        self._emit(bridge, ch, "ChannelEnteredBridge", technology=shown)
        self._update_peers(bridge, first=ch)

    def leave(self, ch: Channel) -> None:
        """A channel leaves its bridge (removed, hung up, or the bridge died)."""
        bridge = self.all.get(ch.bridge_id or "")
        ch.bridge_id = None
        if bridge is None or ch.id not in bridge.channels:
            return
        if ch.variables.get("BRIDGEPEER"):
            self._pbx.set_var(ch, "BRIDGEPEER", "")
        if ch.variables.get("BRIDGEPVTCALLID"):
            self._pbx.set_var(ch, "BRIDGEPVTCALLID", "")
        bridge.channels.remove(ch.id)
        self._emit(bridge, ch, "ChannelLeftBridge")
        self._update_peers(bridge)
        if not bridge.channels:
            self._pbx.recordings.target_emptied(f"bridge:{bridge.id}")

    def destroy(self, bridge: Bridge) -> None:
        """``DELETE /bridges/{id}``: channels leave, recordings end, BridgeDestroyed."""
        for channel_id in list(bridge.channels):
            ch = self._pbx.channels.get(channel_id)
            if ch is not None:
                self.leave(ch)
        self._pbx.recordings.target_emptied(f"bridge:{bridge.id}")
        self._pbx.playbacks.target_gone(f"bridge:{bridge.id}")
        bridge.alive = False
        self.all.pop(bridge.id, None)
        self._pbx.hub.emit(
            bridge.apps, {"type": "BridgeDestroyed", "bridge": bridge.to_json()}
        )
        for name in bridge.apps:
            app = self._pbx.hub.apps.get(name)
            if app is not None:
                app.bridge_ids.discard(bridge.id)

    def add_recorder(self, bridge: Bridge, name: str) -> None:
        """A bridge recording joins as a participant."""
        bridge.recorders.insert(0, name)
        self._update_peers(bridge)

    def remove_recorder(self, bridge: Bridge, name: str) -> None:
        """A bridge recording leaves."""
        if name in bridge.recorders:
            bridge.recorders.remove(name)
            self._update_peers(bridge)

    def _emit(
        self,
        bridge: Bridge,
        ch: Channel,
        event_type: str,
        technology: str | None = None,
    ) -> None:
        apps = list(dict.fromkeys([*ch.apps, *bridge.apps]))
        snapshot = bridge.to_json()
        if technology is not None:
            snapshot["technology"] = technology
        event = {
            "type": event_type,
            "bridge": snapshot,
            "channel": self._pbx.snapshot(ch),
        }
        self._pbx.hub.emit(apps, event)

    def _update_peers(self, bridge: Bridge, first: Channel | None = None) -> None:
        """Keep BRIDGEPEER current on every channel that has peers."""
        members = [self._pbx.channels.get(i) for i in bridge.channels]
        chans = [c for c in members if c is not None]
        if first is not None:
            chans.sort(key=lambda c: c is not first)
        names = {c.id: c.name for c in chans}
        for ch in chans:
            peers = [names[i] for i in bridge.channels if i != ch.id and i in names]
            value = ",".join(peers + bridge.recorders)
            if value and value != ch.variables.get("BRIDGEPEER"):
                self._pbx.set_var(ch, "BRIDGEPEER", value)
        for ch in chans:
            self._update_call_id(bridge, ch, chans)
            self._update_connected(bridge, ch, chans)

    def _update_call_id(
        self, bridge: Bridge, ch: Channel, chans: list[Channel]
    ) -> None:
        """BRIDGEPVTCALLID: the SIP Call-ID of a two-party bridge's PJSIP peer."""
        others = [c for c in chans if c is not ch]
        if len(others) + len(bridge.recorders) != 1 or not others:
            return
        peer = others[0]
        if (
            peer.tech == "PJSIP"
            and ch.variables.get("BRIDGEPVTCALLID") != peer.protocol_id
        ):
            self._pbx.set_var(ch, "BRIDGEPVTCALLID", peer.protocol_id)

    def refresh_peers(self, bridge_id: str | None) -> None:
        """Asterisk re-announces BRIDGEPEER when a snoop attaches or detaches."""
        bridge = self.all.get(bridge_id or "")
        if bridge is None:
            return
        chans = [c for i in bridge.channels if (c := self._pbx.channels.get(i))]
        for ch in chans:
            if len(chans) + len(bridge.recorders) > 1 and ch.variables.get(
                "BRIDGEPEER"
            ):
                self._pbx.set_var(ch, "BRIDGEPEER", ch.variables["BRIDGEPEER"])

    def peer_of(self, ch: Channel) -> Channel | None:
        """The other channel of a two-party bridge, if ``ch`` is in one."""
        bridge = self.all.get(ch.bridge_id or "")
        if bridge is None or bridge.recorders or len(bridge.channels) != 2:
            return None
        other = next(i for i in bridge.channels if i != ch.id)

        return self._pbx.channels.get(other)

    def _update_connected(
        self, bridge: Bridge, ch: Channel, chans: list[Channel]
    ) -> None:
        """
        Two-party bridges exchange connected lines; bigger ones do not.

        A recorder is a party without a number (presentation 67), so a lone
        channel being recorded shows an empty connected line (traces 01, 05).
        """
        others = [c for c in chans if c is not ch]
        if len(others) + len(bridge.recorders) != 1:
            return
        if bridge.recorders:
            self._pbx.set_connected(ch, ("", ""), presentation=67)
        else:
            self._pbx.set_connected(ch, others[0].caller)

    def reset(self) -> None:
        """Forget every bridge silently (a restart)."""
        self.all.clear()
