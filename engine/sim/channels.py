"""
Channels: the ARI ``Channel`` snapshot, hangup causes and reasons.
"""

from dataclasses import dataclass, field
from typing import Any

# Q.850 causes and Asterisk's cause_txt for each.
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    22: "Number changed",
    26: "Answered elsewhere",
    27: "Destination out of order",
    28: "Invalid number format",
    29: "Facility rejected",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    58: "Bearer capability not available",
    102: "Recover on timer expiry",
    127: "Interworking, unspecified",
}

# ``DELETE /channels/{id}?reason=`` values and the cause each one sets.
HANGUP_REASONS = {
    "normal": 16,
    "busy": 17,
    "congestion": 34,
    "no_answer": 19,
    "timeout": 18,
    "rejected": 21,
    "unallocated": 1,
    "normal_unspecified": 31,
    "number_incomplete": 28,
    "codec_mismatch": 58,
    "interworking": 127,
    "failure": 38,
    "answered_elsewhere": 26,
}

# A SIP final response as chan_pjsip turns it into a hangup cause.
SIP_CAUSES = {
    401: 21, 403: 21, 404: 1, 405: 127, 407: 21, 408: 18, 409: 41, 410: 22,
    411: 127, 413: 127, 414: 127, 415: 127, 420: 3, 480: 19, 481: 127, 482: 127,
    483: 19, 484: 28, 485: 1, 486: 17, 487: 127, 488: 58, 491: 127, 493: 127,
    500: 38, 501: 29, 502: 27, 503: 34, 504: 102, 505: 127, 600: 17, 603: 21,
    604: 1, 606: 58,
}  # fmt: skip


def sip_cause(code: int) -> int:
    """The Q.850 cause of a SIP final response (unknown 4xx/6xx: 127, 5xx: 34)."""
    if code in SIP_CAUSES:
        return SIP_CAUSES[code]
    if 500 <= code < 600:
        return 34

    return 127 if 400 <= code < 700 else 16


def dialstatus_for_cause(cause: int) -> str:
    """The final Dial status Asterisk derives from a hangup cause."""
    if cause == 17:
        return "BUSY"
    if cause == 34:
        return "CONGESTION"
    if cause in (3, 20):
        return "CHANUNAVAIL"

    return "NOANSWER"


def parse_caller_id(text: str | None) -> tuple[str, str]:
    """Split ``"Name" <number>`` (or a bare number) into (name, number)."""
    if not text:
        return "", ""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].partition("<")
        return name.strip().strip('"'), number.strip()

    return "", text


@dataclass(eq=False)
class Channel:
    """One simulated channel and everything its snapshot shows."""

    id: str
    name: str
    tech: str
    state: str = "Down"
    protocol_id: str = ""
    caller: tuple[str, str] = ("", "")
    connected: tuple[str, str] = ("", "")
    context: str = "default"
    exten: str = "s"
    priority: int = 1
    app_name: str = ""
    app_data: str = ""
    creationtime: str = ""
    language: str = "en"
    variables: dict[str, str] = field(default_factory=dict)
    apps: list[str] = field(default_factory=list)
    endpoint_key: str | None = None
    peer: "Channel | None" = None
    stasis_app: str | None = None
    stasis_args: list[str] = field(default_factory=list)
    bridge_id: str | None = None
    call: Any = None
    alive: bool = True
    answered: bool = False
    answered_at: float = 0.0
    resting_app: tuple[str, str] = ("", "")

    def snapshot(self, channelvars: tuple[str, ...]) -> dict[str, Any]:
        """The ARI ``Channel`` model."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": self.protocol_id,
            "caller": {"name": self.caller[0], "number": self.caller[1]},
            "connected": {"name": self.connected[0], "number": self.connected[1]},
            "accountcode": "",
            "dialplan": {
                "context": self.context,
                "exten": self.exten,
                "priority": self.priority,
                "app_name": self.app_name,
                "app_data": self.app_data,
            },
            "creationtime": self.creationtime,
            "language": self.language,
        }
        if channelvars:
            data["channelvars"] = {k: self.variables.get(k, "") for k in channelvars}

        return data

    @property
    def in_stasis(self) -> bool:
        """Whether the channel is currently controlled by an application."""
        return self.stasis_app is not None
