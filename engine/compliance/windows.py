"""
Calling windows: when, in the called party's local time, a call may ring.

A window gives each weekday a list of intervals (``09:00-12:00``), plus a
``workday`` list used on official make-up working days and on days the
institution opens specially (a Chinese Saturday worked in place of a holiday
Friday is a working day whatever the Saturday list says). A day not listed is
closed; ``workday`` defaults to Monday's list.

Windows are written as text or as JSON:

    mon-fri 09:00-12:00,14:00-20:00; sat 09:00-12:00; sun closed
    {"mon-fri": ["09:00-12:00", "14:00-20:00"], "sat": "09:00-12:00"}

Each kind of call has an institution window (defaults below, overridden by the
``OUTDIAL_CALLING_WINDOWS`` setting). A campaign may narrow its kind's window
in ``campaigns.settings["calling_window"]``, never widen it: every campaign
interval must lie inside one institution interval of the same day.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from engine.campaigns.kinds import KINDS
from engine.compliance.exceptions import UnknownKindError, WindowError

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKDAY = "workday"
SLOTS: tuple[str, ...] = (*DAYS, WORKDAY)
_ALIASES = {"daily": DAYS, "weekdays": DAYS[:5], "weekend": DAYS[5:]}
_INTERVAL_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

# The institution's limits per kind of call, in the called party's local time.
# Chosen for a Chinese retail bank: collections may not ring before 09:00 or
# after 20:00 nor over lunch; sales calls keep to office hours on weekdays;
# alerts about the customer's own money may ring early and late every day.
DEFAULT_WINDOWS: dict[str, str] = {
    "collections": "mon-sat 09:00-12:00,14:00-20:00",
    "transaction_check": "daily 08:00-21:00",
    "fraud_alert": "daily 07:00-22:00",
    "card_renewal": "mon-fri 09:00-18:00; sat 10:00-16:00",
    "dormant_account": "mon-fri 09:00-12:00,14:00-18:00",
    "marketing": "mon-fri 10:00-12:00,14:00-18:00",
    "insurance": "mon-fri 10:00-12:00,14:00-18:00",
    "greeting": "daily 10:00-12:00,14:00-19:00",
    "survey": "mon-fri 10:00-12:00,14:00-19:00; sat 10:00-12:00",
    "follow_up": "mon-sat 09:00-12:00,14:00-19:00",
    "customer_care": "mon-sat 09:00-20:00",
}

Interval = tuple[int, int]  # minutes after local midnight, end exclusive, <= 1440


@dataclass(frozen=True)
class Window:
    """Intervals per slot (weekday name or ``workday``), sorted and disjoint."""

    slots: Mapping[str, tuple[Interval, ...]]

    def intervals(self, slot: str) -> tuple[Interval, ...]:
        """The intervals of one slot; empty when the slot is closed."""
        return self.slots.get(slot, ())

    def describe(self, slot: str | None = None) -> str:
        """The window as text, in the form ``parse_window`` reads."""
        if slot is not None:
            return f"{slot} {format_intervals(self.intervals(slot))}"
        return "; ".join(self.describe(s) for s in SLOTS)

    def to_json(self) -> dict[str, list[str]]:
        """A JSON form: each slot's intervals as ``HH:MM-HH:MM`` strings."""
        return {s: [format_interval(i) for i in self.intervals(s)] for s in SLOTS}


def format_interval(interval: Interval) -> str:
    """``(540, 720)`` as ``09:00-12:00``."""
    start, end = interval
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def format_intervals(intervals: Sequence[Interval]) -> str:
    """Intervals as comma-separated text, or ``closed``."""
    return ",".join(format_interval(i) for i in intervals) or "closed"


def parse_window(spec: str | Mapping[str, Any]) -> Window:
    """
    Read a window from text or JSON; raise WindowError naming the bad part.
    """
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("{"):
            try:
                spec = json.loads(text)
            except json.JSONDecodeError as exc:
                raise WindowError(f"window is not valid JSON: {exc.msg}") from None
        else:
            spec = _text_entries(text)
    if not isinstance(spec, Mapping) or not spec:
        raise WindowError("window is empty; give at least one day and interval")
    slots: dict[str, tuple[Interval, ...]] = {}
    for days, value in spec.items():
        intervals = _parse_intervals(str(days), value)
        for day in _parse_days(str(days)):
            if day in slots:
                raise WindowError(f"day {day} is given twice in the window")
            slots[day] = intervals
    slots.setdefault(WORKDAY, slots.get("mon", ()))

    return Window({s: slots.get(s, ()) for s in SLOTS})


def _text_entries(text: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        days, _, intervals = part.partition(" ")
        if not intervals.strip():
            raise WindowError(f"window entry {part!r} needs days and intervals")
        if days in entries:
            raise WindowError(f"day {days} is given twice in the window")
        entries[days] = intervals.strip()

    return entries


def _parse_days(text: str) -> tuple[str, ...]:
    key = text.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if key in SLOTS:
        return (key,)
    first, sep, last = key.partition("-")
    if sep and first in DAYS and last in DAYS and DAYS.index(first) <= DAYS.index(last):
        return DAYS[DAYS.index(first) : DAYS.index(last) + 1]
    raise WindowError(
        f"unknown day {text!r} in window; use mon..sun, a range such as mon-fri,"
        " daily, weekdays, weekend or workday"
    )


def _parse_intervals(days: str, value: Any) -> tuple[Interval, ...]:
    if isinstance(value, str):
        value = [] if value.strip().lower() == "closed" else value.split(",")
    if not isinstance(value, list | tuple):
        raise WindowError(f"intervals of {days} must be text or a list of text")
    intervals = sorted(_parse_interval(days, str(v)) for v in value)
    for before, after in pairwise(intervals):
        if after[0] < before[1]:
            raise WindowError(
                f"intervals {format_interval(before)} and {format_interval(after)}"
                f" of {days} overlap"
            )

    return tuple(intervals)


def _parse_interval(days: str, text: str) -> Interval:
    match = _INTERVAL_RE.match(text.strip())
    if match is None:
        raise WindowError(f"interval {text.strip()!r} of {days} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise WindowError(f"interval {text.strip()!r} of {days} is not a clock time")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise WindowError(
            f"interval {text.strip()!r} of {days} ends before it starts"
            " (a window cannot cross midnight; split it over two days)"
        )

    return start, end


def check_narrows(kind: str, campaign: Window, limit: Window) -> None:
    """Raise WindowError naming the first campaign interval outside the limit."""
    for slot in SLOTS:
        allowed = limit.intervals(slot)
        for interval in campaign.intervals(slot):
            if not any(a <= interval[0] and interval[1] <= b for a, b in allowed):
                raise WindowError(
                    f"campaign window {slot} {format_interval(interval)} is outside"
                    f" the institution's {kind} window"
                    f" ({slot} {format_intervals(allowed)})"
                )


def intersect(a: Window, b: Window) -> Window:
    """The times inside both windows."""
    slots: dict[str, tuple[Interval, ...]] = {}
    for slot in SLOTS:
        both = [
            (max(s1, s2), min(e1, e2))
            for s1, e1 in a.intervals(slot)
            for s2, e2 in b.intervals(slot)
            if max(s1, s2) < min(e1, e2)
        ]
        slots[slot] = tuple(sorted(both))

    return Window(slots)


def institution_windows(setting: str | None) -> dict[str, Window]:
    """Every kind's institution window: the defaults, overridden by the setting."""
    return dict(_institution_windows(setting))


@lru_cache(maxsize=8)
def _institution_windows(setting: str | None) -> tuple[tuple[str, Window], ...]:
    specs: dict[str, Any] = dict(DEFAULT_WINDOWS)
    for kind, spec in _setting_specs(setting).items():
        if kind not in KINDS:
            raise UnknownKindError(kind, KINDS)
        specs[kind] = spec
    windows = []
    for kind, spec in specs.items():
        try:
            windows.append((kind, parse_window(spec)))
        except WindowError as exc:
            raise WindowError(f"calling window of {kind} in settings: {exc}") from None

    return tuple(windows)


def _setting_specs(setting: str | None) -> Mapping[str, Any]:
    if not setting or not setting.strip():
        return {}
    text = setting.strip()
    if text.startswith("@"):
        try:
            text = Path(text[1:]).expanduser().read_text("utf-8")
        except OSError as exc:
            raise WindowError(f"cannot read calling windows file: {exc}") from None
    try:
        specs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WindowError(f"calling windows setting is not JSON: {exc.msg}") from None
    if not isinstance(specs, dict):
        raise WindowError("calling windows setting must map kinds to windows")

    return specs


def effective_window(kind: str, campaign_spec: Any, setting: str | None) -> Window:
    """
    The window a campaign calls in: its own if set, within its kind's limit.

    Raises WindowError if the campaign's window is malformed or wider than
    the limit, and UnknownKindError for a kind with no window.
    """
    limits = institution_windows(setting)
    if kind not in limits:
        raise UnknownKindError(kind, KINDS)
    limit = limits[kind]
    if campaign_spec in (None, "", {}):
        return limit
    own = parse_window(campaign_spec)
    check_narrows(kind, own, limit)

    return intersect(own, limit)
