"""
Operator softphones: the ``PJSIP/<ext>`` endpoints of the simulated Asterisk.

A softphone is configured (it exists as an endpoint, offline) or registered
(online: it can be called). Registered phones answer after ``answer_after``
simulated seconds unless a test scripted something else: a behaviour for
every call (``script``), one for the next call only (``next_call``), or a
hang-up of the current call (``hangup``).
"""

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.sim.channels import Channel
from engine.sim.exceptions import SimError
from engine.sim.parties import Behaviour

if TYPE_CHECKING:
    from engine.sim.pbx import Pbx


@dataclass
class Softphone:
    """One SIP phone and its registration."""

    ext: str
    registered: bool = False
    answer_after: float = 0.5
    behaviour: Behaviour | None = None
    queued: deque[Behaviour] = field(default_factory=deque)
    channel_ids: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The endpoint id, ``PJSIP/<ext>``."""
        return f"PJSIP/{self.ext}"

    def to_json(self) -> dict[str, Any]:
        """The ARI ``Endpoint`` model."""
        return {
            "technology": "PJSIP",
            "resource": self.ext,
            "state": "online" if self.registered else "offline",
            "channel_ids": list(self.channel_ids),
        }


class Softphones:
    """The softphone endpoints, as tests and the control API drive them."""

    def __init__(self, pbx: "Pbx") -> None:
        self._pbx = pbx
        self.phones: dict[str, Softphone] = {}

    def configure(self, ext: str) -> Softphone:
        """Make ``PJSIP/<ext>`` exist (offline until it registers)."""
        phone = self.phones.get(ext)
        if phone is None:
            phone = self.phones[ext] = Softphone(ext)

        return phone

    def register(self, ext: str, answer_after: float = 0.5) -> Softphone:
        """Register the phone: it goes online and answers calls."""
        phone = self.configure(ext)
        phone.answer_after = answer_after
        if not phone.registered:
            phone.registered = True
            self._announce(phone, "Reachable", "NonQualified")

        return phone

    def unregister(self, ext: str) -> None:
        """Unregister the phone: calls to it fail with ``Allocation failed``."""
        phone = self.get(ext)
        if phone.registered:
            phone.registered = False
            self._announce(phone, "Unreachable", "Removed")

    def get(self, ext: str) -> Softphone:
        """The phone of that extension."""
        phone = self.phones.get(ext)
        if phone is None:
            raise SimError(f"no softphone {ext}")

        return phone

    def script(self, ext: str, behaviour: Behaviour | None) -> None:
        """What the phone does with every following call (None: just answer)."""
        self.get(ext).behaviour = behaviour

    def next_call(self, ext: str, behaviour: Behaviour) -> None:
        """What the phone does with its next call only."""
        self.get(ext).queued.append(behaviour)

    def hangup(self, ext: str) -> int:
        """The user hangs up: every call of the phone ends (BYE). Returns the count."""
        phone = self.get(ext)
        count = 0
        for channel_id in list(phone.channel_ids):
            ch = self._pbx.channels.get(channel_id)
            if ch is not None and ch.call is not None:
                ch.call.remote_hangup(16)
                count += 1

        return count

    def behaviour_for(self, phone: Softphone) -> Behaviour:
        """The behaviour of the next call to this phone."""
        if phone.queued:
            return phone.queued.popleft()
        if phone.behaviour is not None:
            return phone.behaviour

        return Behaviour.answer(after=phone.answer_after)

    def channel_added(self, phone: Softphone, ch: Channel) -> None:
        """A call to the phone started: EndpointStateChange."""
        phone.channel_ids.append(ch.id)
        self._endpoint_event(phone, "EndpointStateChange")

    def channel_gone(self, ch: Channel) -> None:
        """A call of the phone ended: EndpointStateChange."""
        key = ch.endpoint_key or ""
        phone = self.phones.get(key.partition("/")[2])
        if phone is not None and ch.id in phone.channel_ids:
            phone.channel_ids.remove(ch.id)
            self._endpoint_event(phone, "EndpointStateChange")

    def _announce(self, phone: Softphone, peer: str, contact: str) -> None:
        self._endpoint_event(phone, "EndpointStateChange")
        self._endpoint_event(phone, "PeerStatusChange", peer={"peer_status": peer})
        info = {
            "uri": f"sip:{phone.ext}@127.0.0.1:5071",
            "contact_status": contact,
            "aor": phone.ext,
            "roundtrip_usec": "0",
        }
        self._endpoint_event(phone, "ContactStatusChange", contact_info=info)

    def _endpoint_event(self, phone: Softphone, event_type: str, **fields: Any) -> None:
        apps = self._pbx.endpoint_apps(phone.key)
        self._pbx.hub.emit(
            apps, {"type": event_type, "endpoint": phone.to_json(), **fields}
        )
