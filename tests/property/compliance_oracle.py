"""
An independent judge of a dial: was it allowed by the rules, computed from
the test's own record of the world rather than from the engine's code.

It reads time zones and countries from ``phonenumbers`` and holidays from
``holidays`` directly, keeps its own timeline of do-not-call entries and
caller id approvals, and checks wall-clock local times, so a bug in the
engine's conversion of windows to instants cannot hide in both places.
"""

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import phonenumbers
from phonenumbers import timezone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Intervals = dict[str, list[tuple[int, int]]]  # slot -> minutes, end exclusive


def zones_for(phone: str, explicit: str | None, campaign_zone: str) -> list[ZoneInfo]:
    """The zones a call must be inside the window in."""
    if explicit:
        return [ZoneInfo(explicit)]
    names = timezone.time_zones_for_number(phonenumbers.parse(phone))
    names = [n for n in names if n != "Etc/Unknown"]

    return [ZoneInfo(n) for n in names] or [ZoneInfo(campaign_zone)]


def country_for(phone: str, default: str) -> str:
    """The number's country."""
    region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
    return region if region and region != "001" else default


@lru_cache(maxsize=64)
def _public(country: str, year: int) -> tuple[frozenset[date], frozenset[date]]:
    try:
        found = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return frozenset(), frozenset()
    return frozenset(found), frozenset(getattr(found, "weekend_workdays", ()))


def intervals_on(
    window: Intervals,
    country: str,
    day: date,
    own_dates: dict[tuple[date, str], str],
    call_on_holidays: bool,
) -> list[tuple[int, int]]:
    """The intervals a local date has, by the institution's and public calendar."""
    own = own_dates.get((day, country)) or own_dates.get((day, "*"))
    if own == "closed":
        return []
    if own == "open":
        return window["workday"]
    public, workdays = _public(country, day.year)
    if day in public:
        return window[DAYS[day.weekday()]] if call_on_holidays else []
    if day in workdays:
        return window["workday"]

    return window[DAYS[day.weekday()]]


def _minutes(moment: datetime) -> float:
    return moment.hour * 60 + moment.minute + moment.second / 60


@dataclass
class World:
    """The test's record of rules in force, and the dials that went out."""

    window: Intervals
    campaign_zone: str
    default_region: str
    call_on_holidays: bool
    ring: timedelta
    max_attempts: int
    per_day: int
    gap: timedelta
    own_dates: dict[tuple[date, str], str] = field(default_factory=dict)
    # phone -> list of (added, expires, removed, scope)
    dnc: dict[str, list[list]] = field(default_factory=lambda: defaultdict(list))
    caller_id_ok: bool = True
    caller_id_changes: list[tuple[datetime, bool]] = field(default_factory=list)
    dials: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))

    def set_caller_id(self, approved: bool, at: datetime) -> None:
        """The caller id was approved (or revoked) at ``at``."""
        self.caller_id_ok = approved
        self.caller_id_changes.append((at, approved))

    def caller_id_ok_at(self, at: datetime) -> bool:
        """Whether the caller id was approved at ``at``."""
        state = True
        for when, approved in self.caller_id_changes:
            if when <= at:
                state = approved
        return state

    def suppressed(self, phone: str, kind: str, at: datetime) -> bool:
        """True if a live entry for the kind covered the number at ``at``."""
        for added, expires, removed, scope in self.dnc[phone]:
            live = added <= at and (expires is None or at < expires) and removed is None
            if live and scope in ("all", kind):
                return True
        return False

    def window_violation(self, phone: str, explicit: str | None, at: datetime) -> str:
        """Why a call at ``at`` was outside the window, or '' if it was inside."""
        country = country_for(phone, self.default_region)
        for zone in zones_for(phone, explicit, self.campaign_zone):
            start, end = at.astimezone(zone), (at + self.ring).astimezone(zone)
            if start.date() != end.date():
                return f"ring crosses midnight in {zone.key}"
            allowed = intervals_on(
                self.window,
                country,
                start.date(),
                self.own_dates,
                self.call_on_holidays,
            )
            if not any(a <= _minutes(start) and _minutes(end) <= b for a, b in allowed):
                return f"{zone.key} local {start:%a %Y-%m-%d %H:%M:%S} not in {allowed}"
        return ""

    def limit_violation(self, phone: str, explicit: str | None) -> str:
        """Why the dials to a number broke an attempt limit, or ''."""
        times = sorted(self.dials[phone])
        if len(times) > self.max_attempts:
            return f"{len(times)} dials > max attempts {self.max_attempts}"
        for before, after in itertools.pairwise(times):
            if after - before < self.gap:
                return f"dials {before} and {after} closer than {self.gap}"
        zone = zones_for(phone, explicit, self.campaign_zone)[0]
        per_day: dict[date, int] = defaultdict(int)
        for t in times:
            per_day[t.astimezone(zone).date()] += 1
        worst = max(per_day.values(), default=0)
        if worst > self.per_day:
            return f"{worst} dials in one local day > {self.per_day}"

        return ""
