"""When a place is open: zones, daylight saving, holidays, ring timeout."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.compliance.calendar import CLOSED, OPEN, Calendar, DayInfo
from engine.compliance.schedule import Schedule
from engine.compliance.windows import parse_window
from engine.compliance.zones import Place, locate

NEW_YORK = "+12125550100"
RING = timedelta(seconds=30)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _schedule(
    spec: str, *, holidays: bool = False, own: dict | None = None
) -> Schedule:
    return Schedule(parse_window(spec), Calendar(own or {}), holidays)


def test_locate_us_number_new_york_zone() -> None:
    place = locate(NEW_YORK, None, "Asia/Shanghai", "CN")

    assert place.zone_names == ("America/New_York",)
    assert place.country == "US"
    assert place.source == "number"


def test_locate_unknown_zone_falls_back_to_campaign() -> None:
    place = locate("+447700900123", None, "Europe/London", "GB")

    assert place.zone_names == ("Europe/London",)
    assert place.source == "fallback"
    assert place.fallback_reason == "the number maps to no time zone"


def test_locate_explicit_zone_wins_and_bad_one_falls_back() -> None:
    assert locate(NEW_YORK, "Asia/Tokyo", "UTC", "CN").zone_names == ("Asia/Tokyo",)
    bad = locate(NEW_YORK, "Mars/Olympus", "Asia/Shanghai", "CN")

    assert bad.source == "fallback"
    assert "Mars/Olympus" in (bad.fallback_reason or "")


def test_next_opening_spring_forward_monday_opens_at_edt() -> None:
    place = locate(NEW_YORK, None, "UTC", "US")
    schedule = _schedule("mon-sat 09:00-20:00")

    opening = schedule.next_opening(place, _utc(2026, 3, 8, 12), RING)

    assert opening == _utc(2026, 3, 9, 13)  # 09:00 EDT
    assert not schedule.is_open(place, _utc(2026, 3, 9, 12, 59), RING)
    assert schedule.is_open(place, _utc(2026, 3, 9, 13), RING)


def test_next_opening_saturday_before_spring_forward_uses_est() -> None:
    place = locate(NEW_YORK, None, "UTC", "US")
    schedule = _schedule("mon-sat 09:00-20:00")

    assert schedule.next_opening(place, _utc(2026, 3, 7, 2), RING) == _utc(
        2026, 3, 7, 14
    )
    assert schedule.is_open(place, _utc(2026, 3, 8, 0, 59), RING)  # 19:59 EST Sat
    assert not schedule.is_open(place, _utc(2026, 3, 8, 1), RING)


def test_next_opening_fall_back_monday_opens_at_est() -> None:
    place = locate(NEW_YORK, None, "UTC", "US")
    schedule = _schedule("mon-sat 09:00-20:00")

    assert schedule.next_opening(place, _utc(2026, 10, 31, 0), RING) == _utc(
        2026, 10, 31, 13
    )  # Saturday 09:00 EDT
    assert schedule.next_opening(place, _utc(2026, 11, 1, 12), RING) == _utc(
        2026, 11, 2, 14
    )  # Monday 09:00 EST
    assert schedule.is_open(place, _utc(2026, 11, 3, 0, 59), RING)  # 19:59 EST


def test_spans_transition_night_stay_inside_local_window() -> None:
    place = locate(NEW_YORK, None, "UTC", "US")
    zone = ZoneInfo("America/New_York")
    for spec, day in (("sun 01:00-02:30", 8), ("sun 01:30-02:30", 8)):
        schedule = _schedule(spec)
        spans = schedule.spans(place, _utc(2026, 3, day), _utc(2026, 3, day + 1))
        for start, end in spans:
            t = start
            while t < end:
                local = t.astimezone(zone).time()
                assert local.hour * 60 + local.minute < 150, (spec, t)
                t += timedelta(minutes=1)
    # Both ends inside the repeated hour of fall back: the start is read at
    # its later instant and the end at its earlier one, so nothing is open.
    fall = _schedule("sun 01:30-01:45").spans(
        place, _utc(2026, 11, 1), _utc(2026, 11, 2)
    )

    assert fall == []


def test_is_open_several_zones_needs_all_open() -> None:
    place = Place(
        (ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles")), "US", "number"
    )
    schedule = _schedule("daily 09:00-20:00")

    assert not schedule.is_open(place, _utc(2026, 6, 10, 14), RING)  # LA 07:00
    assert schedule.is_open(place, _utc(2026, 6, 10, 16), RING)
    assert not schedule.is_open(place, _utc(2026, 6, 11, 0), RING)  # NY 20:00
    assert schedule.next_opening(place, _utc(2026, 6, 10, 1), RING) == _utc(
        2026, 6, 10, 16
    )


def test_is_open_ring_timeout_past_close_refused() -> None:
    place = locate("+8613800138000", None, "UTC", "CN")
    schedule = _schedule("mon-fri 10:00-12:00,14:00-18:00")
    before_lunch = _utc(2026, 6, 10, 3, 59, 40)  # 11:59:40 in Shanghai

    assert not schedule.is_open(place, before_lunch, RING)
    assert schedule.is_open(place, before_lunch - timedelta(seconds=10), RING)
    assert schedule.next_opening(place, before_lunch, RING) == _utc(2026, 6, 10, 6)


def test_day_china_spring_festival_closed_makeup_saturday_open() -> None:
    place = locate("+8613800138000", None, "UTC", "CN")
    schedule = _schedule("mon-fri 10:00-12:00,14:00-18:00")

    # 2026-02-14 is a Saturday worked in place of 2026-02-20.
    assert schedule.day("CN", date(2026, 2, 14))[1] == ((600, 720), (840, 1080))
    assert schedule.day("CN", date(2026, 2, 17))[1] == ()
    assert schedule.next_opening(place, _utc(2026, 2, 15), RING) == _utc(
        2026, 2, 24, 2
    )  # festival and the moved Monday pass: Tuesday 10:00


def test_day_call_on_holidays_uses_weekday_window() -> None:
    schedule = _schedule("mon-fri 10:00-12:00", holidays=True)

    assert schedule.day("CN", date(2026, 2, 17))[1] == ((600, 720),)


def test_day_institution_dates_win_over_package() -> None:
    own = {
        (date(2026, 6, 10), "*"): DayInfo(CLOSED, "system migration"),
        (date(2026, 6, 13), "CN"): DayInfo(OPEN, "year-end push"),
    }
    schedule = _schedule("mon-fri 10:00-12:00; workday 10:00-11:00", own=own)

    assert schedule.day("CN", date(2026, 6, 10)) == (
        DayInfo(CLOSED, "system migration"),
        (),
    )
    assert schedule.day("CN", date(2026, 6, 13))[1] == ((600, 660),)
    assert schedule.day("US", date(2026, 6, 13))[1] == ()


def test_next_opening_closed_window_returns_none() -> None:
    place = locate("+8613800138000", None, "UTC", "CN")
    schedule = _schedule("sun closed")

    assert schedule.next_opening(place, _utc(2026, 6, 10), RING) is None
