"""
Channels: the ARI ``Channel`` snapshot, hangup causes and reasons.
"""

from dataclasses import dataclass, field
from typing import Any

# Q.850 causes the simulator reports, with Asterisk's cause_txt.
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    26: "Answered elsewhere",
    27: "Destination out of order",
    28: "Invalid number format (incomplete number)",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    58: "Bearer capability not available",
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

# SIP final responses as chan_pjsip maps them: (Q.850 cause, Dial status).
SIP_OUTCOMES = {
    404: (1, "NOANSWER"),
    408: (19, "NOANSWER"),
    480: (19, "NOANSWER"),
    484: (28, "NOANSWER"),
    486: (17, "BUSY"),
    487: (16, "CANCEL"),
    500: (38, "CONGESTION"),
    502: (27, "CONGESTION"),
    503: (34, "CONGESTION"),
    600: (17, "BUSY"),
    603: (21, "NOANSWER"),
}


def dialstatus_for_cause(cause: int) -> str:
    """The final Dial status for a far end that hangs up with ``cause``."""
    if cause == 17:
        return "BUSY"
    if cause in (34, 38, 41, 42, 27):
        return "CONGESTION"

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
