"""
The simulated Asterisk core: channels, Stasis, hangups and event helpers.

Everything that changes the state of a channel goes through here, so the
events it produces come out in Asterisk's order. Call progress (ringing,
answer, refusals) lives in ``calls``; bridges, recordings and playbacks in
their own modules, which call back into this one.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.sim.channels import CAUSE_TEXT, Channel
from engine.sim.clock import IdAllocator, SimClock
from engine.sim.events import DUPLICATED_ON_ENDPOINT, EventHub
from engine.sim.parties import PartyRules
from engine.sim.softphones import Softphones

if TYPE_CHECKING:
    from engine.sim.bridges import Bridges
    from engine.sim.playbacks import Playbacks
    from engine.sim.recordings import Recordings


@dataclass(frozen=True)
class Snoop:
    """One snoop channel started (tests check supervision's directions)."""

    snoop_id: str
    target_id: str
    spy: str
    whisper: str
    app_args: list[str]


@dataclass
class Origination:
    """
    One origination attempt, as the simulator saw it (compliance checks).

    ``at`` is simulated time (what Asterisk would stamp); ``wall_at`` is the
    real UTC time of the request.
    """

    at: datetime
    endpoint: str
    number: str
    caller_id: str | None
    variables: dict[str, str]
    channel_id: str | None
    app_args: list[str]
    method: str = "originate"
    status: int = 200
    app: str | None = None
    wall_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for the HTTP control API."""
        data = dict(self.__dict__)
        data["at"] = self.at.isoformat()
        data["wall_at"] = self.wall_at.isoformat() if self.wall_at else None

        return data


@dataclass
class PbxConfig:
    """What the simulated Asterisk is configured with."""

    username: str = "outdial"
    password: str = "outdial"
    channelvars: tuple[str, ...] = ("CAMPAIGN_ID", "CONTACT_ID")
    local_contexts: dict[str, str] = field(
        default_factory=lambda: {
            "sim-customers": "customer",
            "sim-operators": "operator",
        }
    )
    trunks: set[str] | None = None
    entity_id: str = "02:fc:00:00:00:01"


# The RTCP summaries chan_pjsip sets, as (variable, indent, fields).
RTP_SUMMARIES = (
    ("RTPAUDIOQOSJITTER", "", "rxjitter", "txjitter"),
    ("RTPAUDIOQOSLOSS", "  ", "rxlost", "txlost"),
    ("RTPAUDIOQOSRTT", "     ", "rtt"),
    ("RTPAUDIOQOSMES", "   ", "rxmes", "txmes"),
)


def rtp_figures(ssrc: int, packets: int) -> list[tuple[str, str]]:
    """RTPAUDIOQOS* values in chan_pjsip's format, for a clean call."""
    figures = [
        (
            "RTPAUDIOQOS",
            f"ssrc={ssrc};themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;"
            f"txjitter=0.000000;txcount={packets};rlp=0;rtt=0.000000;"
            "rxmes=0.000000;txmes=0.000000",
        )
    ]
    for variable, indent, *fields in RTP_SUMMARIES:
        value = "".join(
            f"{indent}{stat}{field}=000.000000;"
            for field in fields
            for stat in ("min", "max", "avg", "stdev")
        )
        figures.append((variable, value))

    return figures


class Pbx:
    """State of one simulated Asterisk instance."""

    def __init__(self, config: PbxConfig, clock: SimClock, seed: int | None) -> None:
        self.config = config
        self.clock = clock
        self.rng = random.Random(seed)
        self.ids = IdAllocator(clock)
        self.hub = EventHub(clock, config.entity_id)
        self.channels: dict[str, Channel] = {}
        self.parties = PartyRules(self.rng)
        self.softphones = Softphones(self)
        self.originations: list[Origination] = []
        self.globals: dict[str, str] = {}
        self.snoops: dict[str, list[Channel]] = {}
        self.snoop_log: list[Snoop] = []
        self.startup = clock.stamp()
        self.bridges: Bridges
        self.recordings: Recordings
        self.playbacks: Playbacks

    # -- events -------------------------------------------------------------

    def targets(self, ch: Channel, event_type: str) -> list[str]:
        """The apps that get a channel event (twice with an endpoint subscription)."""
        apps = list(ch.apps)
        if ch.endpoint_key and event_type in DUPLICATED_ON_ENDPOINT:
            apps += self.endpoint_apps(ch.endpoint_key)

        return apps

    def endpoint_apps(self, key: str) -> list[str]:
        """The apps subscribed to an endpoint such as ``PJSIP/6001``."""
        return [a.name for a in self.hub.apps.values() if key in a.endpoint_ids]

    def channel_event(self, ch: Channel, event_type: str, **fields: Any) -> None:
        """Emit an event that carries ``channel``."""
        apps = self.targets(ch, event_type)
        if apps or self._any_subscribe_all():
            fields["channel"] = self.snapshot(ch)
            self.hub.emit(apps, {"type": event_type, **fields})

    def dial_event(self, ch: Channel, status: str, dialstring: str) -> None:
        """A Dial event for an originated channel: ``peer`` and no ``caller``."""
        apps = self.targets(ch, "Dial")
        if apps or self._any_subscribe_all():
            event = {
                "type": "Dial",
                "dialstatus": status,
                "forward": "",
                "dialstring": dialstring,
                "peer": self.snapshot(ch),
            }
            self.hub.emit(apps, event)

    def _any_subscribe_all(self) -> bool:
        return any(a.subscribe_all for a in self.hub.apps.values())

    def snapshot(self, ch: Channel) -> dict[str, Any]:
        """The channel's ARI snapshot."""
        return ch.snapshot(self.config.channelvars)

    # -- channel life -------------------------------------------------------

    def new_channel(self, channel_id: str | None, name: str, tech: str) -> Channel:
        """Create and register a channel."""
        ch = Channel(channel_id or self.ids.channel_id(), name, tech)
        ch.creationtime = self.clock.stamp()
        self.channels[ch.id] = ch

        return ch

    def subscribe(self, ch: Channel, app: str) -> None:
        """Subscribe an application to a channel."""
        if app not in ch.apps:
            ch.apps.append(app)
            self.hub.app(app).channel_ids.add(ch.id)

    def set_var(
        self, ch: Channel, name: str, value: str, *, event: bool = True
    ) -> None:
        """Set a channel variable, with its ChannelVarset event."""
        ch.variables[name] = value
        if event:
            self.channel_event(ch, "ChannelVarset", variable=name, value=value)

    def set_state(self, ch: Channel, state: str) -> None:
        """Change the channel state, with its ChannelStateChange event."""
        if ch.state != state:
            ch.state = state
            self.channel_event(ch, "ChannelStateChange")

    def set_connected(
        self, ch: Channel, party: tuple[str, str], presentation: int = 0
    ) -> None:
        """
        Change the connected line.

        A Local ``;1`` passes it on to its ``;2`` half as the caller, which
        shows up with the half's next dialplan step or next voice frame
        (traces 01 and 06).
        """
        if ch.connected == party:
            return
        ch.connected = party
        self.channel_event(ch, "ChannelConnectedLine")
        if getattr(ch.call, "half", None) not in (None, ch):
            ch.call.pass_caller(party, presentation)

    def hangup_request(
        self,
        ch: Channel,
        cause: int,
        *,
        soft: bool = False,
        tech_cause: int | None = None,
    ) -> None:
        """Emit ChannelHangupRequest (``soft`` carries Asterisk's flag, not Q.850)."""
        fields: dict[str, Any] = {"cause": cause}
        if soft:
            fields["soft"] = True
        if tech_cause is not None:
            fields["tech_cause"] = tech_cause
        self.channel_event(ch, "ChannelHangupRequest", **fields)

    def enter_stasis(self, ch: Channel, app: str, args: list[str]) -> None:
        """Put a channel into an application: STASISSTATUS, then StasisStart."""
        ch.resting_app = (ch.app_name, ch.app_data)
        ch.app_name = "Stasis"
        ch.app_data = ",".join([app, *args])
        ch.stasis_app = app
        ch.stasis_args = list(args)
        self.subscribe(ch, app)
        self.set_var(ch, "STASISSTATUS", "")
        self.channel_event(ch, "StasisStart", args=list(args))

    def leave_stasis(self, ch: Channel, *, status: str = "SUCCESS") -> None:
        """Take a channel out of its application: StasisEnd, then STASISSTATUS."""
        if ch.stasis_app is None:
            return
        self.channel_event(ch, "StasisEnd")
        ch.stasis_app = None
        # A snoop channel's app is unsubscribed at StasisEnd (trace 06).
        self.set_var(ch, "STASISSTATUS", status, event=ch.tech != "Snoop")
        ch.app_name, ch.app_data = ch.resting_app

    def destroy(
        self,
        ch: Channel,
        cause: int,
        *,
        tech_cause: int | None = None,
        quiet: bool = False,
    ) -> None:
        """The end of a channel: ChannelDestroyed and unsubscription."""
        if not ch.alive:
            return
        ch.alive = False
        self._release(ch)
        if ch.name.endswith(";2"):
            # The dialplan half's PBX thread has exited by the time it dies.
            ch.app_name, ch.app_data = "", ""
        if not quiet:
            fields: dict[str, Any] = {
                "cause": cause,
                "cause_txt": CAUSE_TEXT.get(cause, "Unknown"),
            }
            if tech_cause is not None:
                fields["tech_cause"] = tech_cause
            self.channel_event(ch, "ChannelDestroyed", **fields)
        for name in ch.apps:
            app = self.hub.apps.get(name)
            if app is not None:
                app.channel_ids.discard(ch.id)
        if ch.endpoint_key:
            self.softphones.channel_gone(ch)

    def _release(self, ch: Channel) -> None:
        """Stop what a dying channel was part of: timers, media, bridge, snoops."""
        if ch.call is not None:
            ch.call.cancel_timers()
        self.playbacks.channel_gone(ch)
        if ch.bridge_id is not None:
            self.bridges.leave(ch)
        self.recordings.target_emptied(f"channel:{ch.id}")
        self.channels.pop(ch.id, None)
        for snoop in self.snoops.pop(ch.id, []):
            self.end_snoop(snoop)

    def finish(self, ch: Channel, cause: int, *, tech_cause: int | None = None) -> None:
        """A channel whose hangup is under way: leave bridge and Stasis, then die."""
        if not ch.alive:
            return
        if ch.bridge_id is not None:
            self.bridges.leave(ch)
        self.leave_stasis(ch)
        self.destroy(ch, cause, tech_cause=tech_cause)

    def rtp_report(self, ch: Channel) -> None:
        """
        The RTCP summary chan_pjsip leaves on an answered SIP channel as it ends.

        Set on the channel, and as ``...BRIDGED`` on a two-party bridge peer
        (trace 12). The figures are plausible, not measured.
        """
        if ch.tech != "PJSIP" or not ch.answered:
            return
        peer = self.bridges.peer_of(ch)
        packets = max(int((self.clock.now() - ch.answered_at) * 50), 0)
        for name, value in rtp_figures(self.rng.getrandbits(31), packets):
            self.set_var(ch, name, value)
            if peer is not None:
                self.set_var(peer, f"{name}BRIDGED", value)

    def hangup(self, ch: Channel, cause: int) -> None:
        """A hangup asked for over ARI (``DELETE /channels/{id}``)."""
        if ch.call is not None:
            ch.call.cancel_timers()
        self.rtp_report(ch)
        self.hangup_request(ch, 32, soft=True)
        if ch.tech == "Snoop":
            self.end_snoop(ch)
            return
        if ch.call is not None:
            ch.call.local_hangup(ch, cause)
            return
        self.finish(ch, cause)

    def end_snoop(self, ch: Channel) -> None:
        """A snoop channel ends: StasisEnd, but no ChannelDestroyed (trace 06)."""
        if not ch.alive:
            return
        if ch.bridge_id is not None:
            self.bridges.leave(ch)
        self.leave_stasis(ch)
        self.destroy(ch, 16, quiet=True)
        spied = self.channels.get(ch.name.partition("/")[2].rpartition("-")[0])
        if spied is not None:
            self.bridges.refresh_peers(spied.bridge_id)

    def reset(self) -> None:
        """Drop every channel silently (a restart)."""
        for ch in list(self.channels.values()):
            if ch.call is not None:
                ch.call.cancel_timers()
            ch.alive = False
        self.channels.clear()
        self.snoops.clear()
        for phone in self.softphones.phones.values():
            phone.channel_ids.clear()
