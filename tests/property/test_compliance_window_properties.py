"""
Properties of windows and openings, without a database: text round trips,
narrowing, and that every computed opening is inside the window on the
called party's wall clock (judged by the independent oracle).
"""

from datetime import UTC, datetime, timedelta

from compliance_oracle import World
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.compliance.calendar import Calendar
from engine.compliance.schedule import Schedule
from engine.compliance.windows import (
    SLOTS,
    check_narrows,
    intersect,
    parse_window,
)
from engine.compliance.zones import locate

ZONED = (
    "+12125550100",
    "+13105550100",
    "+12085550100",
    "+61212345678",
    "+8613800138000",
)


@st.composite
def intervals(draw: st.DrawFn) -> list[tuple[int, int]]:
    """Sorted, disjoint intervals of one day, in minutes."""
    cuts = sorted(draw(st.sets(st.integers(0, 1440), max_size=6)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    return [(a, b) for a, b in pairs if a < b]


windows = st.fixed_dictionaries({slot: intervals() for slot in SLOTS})


def _text(window: dict[str, list[tuple[int, int]]]) -> str:
    def one(items: list[tuple[int, int]]) -> str:
        return (
            ",".join(
                f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"
                for a, b in items
            )
            or "closed"
        )

    return "; ".join(f"{slot} {one(window[slot])}" for slot in SLOTS)


@settings(max_examples=200)
@given(window=windows)
def test_window_text_round_trip_is_identity(window: dict) -> None:
    parsed = parse_window(_text(window))

    assert parse_window(parsed.describe()) == parsed
    assert {s: list(parsed.intervals(s)) for s in SLOTS} == window


@settings(max_examples=200)
@given(a=windows, b=windows)
def test_intersection_narrows_both(a: dict, b: dict) -> None:
    first, second = parse_window(_text(a)), parse_window(_text(b))
    both = intersect(first, second)

    check_narrows("x", both, first)
    check_narrows("x", both, second)


@settings(max_examples=60)
@given(
    window=windows,
    phone=st.sampled_from(ZONED),
    after=st.datetimes(
        min_value=datetime(2026, 1, 1),
        max_value=datetime(2026, 12, 20),
        timezones=st.just(UTC),
    ),
    ring=st.integers(5, 300),
    holidays=st.booleans(),
)
def test_next_opening_is_inside_window_on_wall_clock(
    window: dict, phone: str, after: datetime, ring: int, holidays: bool
) -> None:
    parsed = parse_window(_text(window))
    schedule = Schedule(parsed, Calendar({}), holidays)
    place = locate(phone, None, "UTC", "CN")
    world = World(
        window={s: list(parsed.intervals(s)) for s in SLOTS},
        campaign_zone="UTC",
        default_region="CN",
        call_on_holidays=holidays,
        ring=timedelta(seconds=ring),
        max_attempts=1,
        per_day=1,
        gap=timedelta(0),
    )

    opening = schedule.next_opening(place, after, timedelta(seconds=ring))

    if opening is not None:
        assert opening >= after
        assert schedule.is_open(place, opening, timedelta(seconds=ring))
        assert not world.window_violation(phone, None, opening)
        # A minute earlier (if still after ``after``) was not yet open.
        earlier = opening - timedelta(minutes=1)
        if earlier >= after and opening != after:
            assert not schedule.is_open(place, earlier, timedelta(seconds=ring))
