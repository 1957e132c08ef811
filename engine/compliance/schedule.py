"""
When a contact may be called, as instants in UTC, and its next opening.

A window is in local wall-clock time, so each local day's intervals are turned
into UTC instants in each of the contact's zones, and a number with several
zones is open only where all of its zones are open. Daylight-saving changes
are handled where local times become instants: a start time that does not
exist (spring forward) or occurs twice (fall back) is taken at its later
instant and an end time at its earlier one, so an instant counted as open is
inside the window on the local clock, whatever the clock did that night.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.compliance.calendar import CLOSED, HOLIDAY, MAKEUP, OPEN, Calendar, DayInfo
from engine.compliance.windows import DAYS, WORKDAY, Interval, Window
from engine.compliance.zones import Place

Span = tuple[datetime, datetime]  # UTC, end exclusive

# How far ahead to look for an opening: a week covers the usual case, a year
# covers a window that opens only on one weekday behind long holidays.
HORIZONS = (timedelta(days=8), timedelta(days=45), timedelta(days=400))


@dataclass(frozen=True)
class Schedule:
    """A window, the calendar it is read against, and the holiday choice."""

    window: Window
    calendar: Calendar
    call_on_holidays: bool = False

    def day(
        self, country: str, local_day: date
    ) -> tuple[DayInfo, tuple[Interval, ...]]:
        """The kind of a local day and the intervals the window gives it."""
        info = self.calendar.day(country, local_day)
        if info.kind == CLOSED or (info.kind == HOLIDAY and not self.call_on_holidays):
            return info, ()
        if info.kind in (OPEN, MAKEUP):
            return info, self.window.intervals(WORKDAY)

        return info, self.window.intervals(DAYS[local_day.weekday()])

    def spans(self, place: Place, start: datetime, end: datetime) -> list[Span]:
        """The open spans of a place that meet [start, end), in UTC."""
        per_zone = [self._zone_spans(z, place.country, start, end) for z in place.zones]
        merged = per_zone[0]
        for other in per_zone[1:]:
            merged = _intersect(merged, other)

        return merged

    def _zone_spans(
        self, zone: ZoneInfo, country: str, start: datetime, end: datetime
    ) -> list[Span]:
        first = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date() + timedelta(days=1)
        spans: list[Span] = []
        day = first
        while day <= last:
            for a, b in self.day(country, day)[1]:
                s, e = _instant(day, a, zone, start=True), _instant(day, b, zone)
                if s < e and e > start and s < end:
                    spans.append((s, e))
            day += timedelta(days=1)

        return _merge(spans)

    def is_open(self, place: Place, now: datetime, ring: timedelta) -> bool:
        """True if a call starting now would ring out entirely inside the window."""
        spans = self.spans(
            place, now - timedelta(days=1), now + ring + timedelta(days=1)
        )
        return any(s <= now and now + ring <= e for s, e in spans)

    def next_opening(
        self, place: Place, after: datetime, ring: timedelta
    ) -> datetime | None:
        """The first instant at or after ``after`` a call may start; None if none."""
        for horizon in HORIZONS:
            for s, e in self.spans(place, after, after + horizon):
                begin = max(s, after)
                if begin + ring <= e:
                    return begin

        return None


def _instant(
    day: date, minutes: int, zone: ZoneInfo, *, start: bool = False
) -> datetime:
    """A local wall time as UTC: a start at its later reading, an end at its earlier."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minutes)
    early = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    late = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)

    return max(early, late) if start else min(early, late)


def _merge(spans: Sequence[Span]) -> list[Span]:
    merged: list[Span] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))

    return merged


def _intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1

    return out
