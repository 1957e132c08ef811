"""
How a reference trace and a simulator run are compared.

Ids, timestamps and name counters are normalised away; events are grouped
per entity (each channel, recording, playback, bridge, endpoint) and compared
in order, except where the traces themselves show run-to-run variance.
"""

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

CHANNEL_ID = re.compile(r"\b\d{10}\.\d+\b")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")
SUFFIX = re.compile(r"-[0-9a-f]{8}(?=;|\b|$)")


def normalise(value: Any) -> Any:
    """Replace ids, timestamps and name counters so two runs compare equal."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        value = STAMP.sub("<time>", value)
        value = UUID.sub("<uuid>", value)
        value = CHANNEL_ID.sub("<id>", value)
        return SUFFIX.sub("-<n>", value)

    return value


def channel_key(name: str) -> str:
    """A channel name without its counters (``Local/1@ctx;2``)."""
    name = SUFFIX.sub("", name)
    if name.startswith("Snoop/"):
        return "Snoop"

    return CHANNEL_ID.sub("<id>", name)


@dataclass
class Mismatch:
    """One difference between the trace and the simulator."""

    where: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.where}:\n  trace: {self.expected}\n  sim:   {self.actual}"


# Every event is compared. RTCP figures (``RTPAUDIOQOS*`` values) are
# compared by name only: they are measurements of the media.
RTP_FIGURES = re.compile(r"^RTPAUDIOQOS")


def entity_of(
    event: dict[str, Any], names: dict[str, tuple[str, int]]
) -> tuple[Any, ...]:
    """Which stream an event belongs to."""
    holder = event.get("channel") or (
        event.get("peer") if event["type"] == "Dial" else None
    )
    if holder is not None:
        if holder["id"] not in names:
            key = channel_key(holder["name"])
            names[holder["id"]] = (key, sum(1 for k in names.values() if k[0] == key))
        return ("channel", *names[holder["id"]])
    if "recording" in event:
        return ("recording", event["recording"]["name"])
    if "playback" in event:
        return ("playback", event["playback"]["media_uri"])
    if "bridge" in event:
        return ("bridge", normalise(event["bridge"]["name"]))
    if "endpoint" in event:
        return ("endpoint", event["endpoint"]["resource"])

    return ("global",)


SIGNATURE_FIELDS = (
    "dialstatus",
    "dialstring",
    "forward",
    "cause",
    "cause_txt",
    "soft",
    "tech_cause",
    "variable",
    "value",
    "args",
    "dialplan_app",
    "dialplan_app_data",
    "caller_presentation",
)


def signature(event: dict[str, Any]) -> dict[str, Any]:
    """What must match between two events of the same stream."""
    sig: dict[str, Any] = {"type": event["type"], "keys": sorted(event)}
    for name in SIGNATURE_FIELDS:
        if name in event:
            sig[name] = normalise(event[name])
    if RTP_FIGURES.match(str(event.get("variable", ""))):
        sig["value"] = "<rtcp figures>"
    holder = event.get("channel") or (
        event.get("peer") if event["type"] == "Dial" else None
    )
    if holder is not None:
        sig["state"] = holder["state"]
        sig["app"] = holder["dialplan"]["app_name"]
        sig["snapshot_keys"] = sorted(holder)
        sig["channelvars"] = holder.get("channelvars")
    if "bridge" in event:
        sig["technology"] = event["bridge"]["technology"]
        sig["bridge_channels"] = len(event["bridge"]["channels"])
    for part in ("recording", "playback", "endpoint", "contact_info"):
        if part in event:
            skip = ("id", "duration")
            sig[part] = normalise(
                {k: v for k, v in event[part].items() if k not in skip}
            )
    if "duration" in event.get("recording", {}):
        sig["duration"] = event["recording"]["duration"]
    if event["type"] == "PeerStatusChange":
        sig["peer"] = event["peer"]

    return sig


# Events whose place in their stream varies from run to run, and the states
# the events around them may show because of it:
# - a ``;2`` half's ChannelStateChange to Busy comes before the final Dial in
#   traces 04 and 07 but after the originated channel died in trace 02;
# - a PJSIP channel's ChannelStateChange to Ringing comes after its Dial
#   RINGING in trace 13's 503 case and before it everywhere else.
FLOATING = {"Busy": ("Ring", "Busy"), "Ringing": ("Down", "Ringing")}
# Connected-line and caller-id updates travel as frames and are applied on a
# channel's next voice frame (every 20 ms): one that comes milliseconds
# before a hangup lands before or after it (traces 05 and 12 show it after
# ChannelDestroyed). They are compared by type and presentation only.
FRAME_DRIVEN = ("ChannelConnectedLine", "ChannelCallerId")


def is_floating(sig: dict[str, Any]) -> bool:
    """An event whose position floats (see FLOATING and FRAME_DRIVEN)."""
    if sig["type"] in FRAME_DRIVEN:
        return True
    if sig["type"] != "ChannelStateChange":
        return False

    return str(sig.get("state")).split("|")[-1] in FLOATING


def _floating_view(sig: dict[str, Any]) -> dict[str, Any]:
    if sig["type"] in FRAME_DRIVEN:
        kept = ("type", "keys", "caller_presentation")
        return {k: v for k, v in sig.items() if k in kept}

    return sig


def streams(
    events: list[dict[str, Any]],
) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    """Events grouped by entity, noise left out, floating events last."""
    names: dict[str, tuple[str, int]] = {}
    grouped: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        grouped[entity_of(event, names)].append(signature(event))
    for key, sigs in grouped.items():
        for state, merged in FLOATING.items():
            if any(
                s["type"] == "ChannelStateChange" and s.get("state") == state
                for s in sigs
            ):
                for sig in sigs:
                    if sig.get("state") in merged:
                        sig["state"] = "|".join(merged)
        floating = sorted(
            (_floating_view(s) for s in sigs if is_floating(s)),
            key=lambda s: json.dumps(s, sort_keys=True),
        )
        grouped[key] = [s for s in sigs if not is_floating(s)] + floating

    return grouped


def same(want: dict[str, Any], got: dict[str, Any]) -> bool:
    """Signatures equal; recording durations may differ by the one-second tick."""
    if "duration" in want and "duration" in got:
        if abs(want["duration"] - got["duration"]) > 1:
            return False
        want, got = dict(want), dict(got)
        want.pop("duration")
        got.pop("duration")

    return want == got


def compare_events(
    trace: list[dict[str, Any]], actual: list[dict[str, Any]]
) -> list[Mismatch]:
    """Per-entity comparison of two event lists."""
    expected_streams, actual_streams = streams(trace), streams(actual)
    problems = []
    for key in sorted(expected_streams.keys() | actual_streams.keys(), key=str):
        want, got = expected_streams.get(key, []), actual_streams.get(key, [])
        if len(want) == len(got) and all(map(same, want, got)):
            continue
        for index, (w, g) in enumerate(zip(want, got, strict=False)):
            if not same(w, g):
                diff = {
                    k: (w.get(k), g.get(k))
                    for k in w.keys() | g.keys()
                    if w.get(k) != g.get(k)
                }
                problems.append(
                    Mismatch(f"events {key} #{index} {w['type']}", diff, g["type"])
                )
                break
        else:
            problems.append(
                Mismatch(
                    f"events {key} length",
                    [s["type"] for s in want[len(got) :]] or len(want),
                    [s["type"] for s in got[len(want) :]] or len(got),
                )
            )

    return problems


# -- REST comparison ----------------------------------------------------------


def compare_body(expected: Any, actual: Any) -> bool:
    """Bodies equal with ids and times aside (lists compared as multisets)."""
    left, right = normalise(expected), normalise(actual)
    if isinstance(left, list) and isinstance(right, list):
        key = lambda v: json.dumps(v, sort_keys=True)  # noqa: E731
        return sorted(left, key=key) == sorted(right, key=key)

    return left == right


def settled(body: Any) -> Any:
    """
    A channel list without what the ``;2`` halves' dialplans are doing.

    For a request the trace sent within milliseconds of a dialplan step, so
    that the step's effects may or may not be visible yet.
    """
    if not isinstance(body, list):
        return body

    return [
        {k: v for k, v in item.items() if k not in ("dialplan", "caller")}
        if isinstance(item, dict) and str(item.get("name", "")).endswith(";2")
        else item
        for item in body
    ]


def split_responses(text: str) -> list[tuple[str, dict[str, str], str]]:
    """HTTP responses in a byte dump: status line, chosen headers, body."""
    found = []
    while text.startswith("HTTP/1.1"):
        head, _, rest = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        headers = {k.lower(): v for k, v in headers.items()}
        length = int(headers.get("content-length", "0"))
        chosen = {
            k: headers[k]
            for k in (
                "content-type",
                "www-authenticate",
                "content-length",
                "sec-websocket-version",
            )
            if k in headers
        }
        found.append((lines[0], chosen, rest[:length]))
        text = rest[length:]

    return found
