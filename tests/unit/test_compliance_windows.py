"""Calling windows: parsing, narrowing, and the errors bad windows get."""

from pathlib import Path

import pytest

from engine.campaigns.kinds import KINDS
from engine.compliance.exceptions import UnknownKindError, WindowError
from engine.compliance.windows import (
    DEFAULT_WINDOWS,
    effective_window,
    institution_windows,
    parse_window,
)


def test_parse_window_text_ranges_expands_days() -> None:
    window = parse_window("mon-fri 09:00-12:00,14:00-20:00; sat 09:00-12:00")

    assert window.intervals("wed") == ((540, 720), (840, 1200))
    assert window.intervals("sat") == ((540, 720),)
    assert window.intervals("sun") == ()
    assert window.intervals("workday") == window.intervals("mon")


def test_parse_window_json_equals_text() -> None:
    text = parse_window("weekdays 10:00-12:00; workday 10:00-11:00")
    data = parse_window('{"mon-fri": ["10:00-12:00"], "workday": "10:00-11:00"}')

    assert text == data


def test_parse_window_end_of_day_allowed() -> None:
    assert parse_window("sun 20:00-24:00").intervals("sun") == ((1200, 1440),)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mon 09:00-12:00,11:30-13:00", "09:00-12:00 and 11:30-13:00 of mon overlap"),
        ("mon 9-12", "'9-12' of mon is not HH:MM-HH:MM"),
        ("mon 18:00-09:00", "ends before it starts"),
        ("mon 25:00-26:00", "is not a clock time"),
        ("funday 09:00-10:00", "unknown day 'funday'"),
        ("mon 09:00-10:00; mon-fri 11:00-12:00", "day mon is given twice"),
        ("mon", "needs days and intervals"),
        ("{not json", "not valid JSON"),
        ("", "window is empty"),
    ],
)
def test_parse_window_malformed_raises_naming_part(spec: str, message: str) -> None:
    with pytest.raises(WindowError) as caught:
        parse_window(spec)

    assert message in str(caught.value)


def test_effective_window_campaign_narrows_limit() -> None:
    window = effective_window("collections", "mon 10:00-11:00,15:00-16:00", None)

    assert window.intervals("mon") == ((600, 660), (900, 960))
    assert window.intervals("tue") == ()


def test_effective_window_wider_campaign_names_interval() -> None:
    with pytest.raises(WindowError) as caught:
        effective_window("marketing", "mon 10:00-12:00; sat 10:00-11:00", None)

    assert "campaign window sat 10:00-11:00 is outside" in str(caught.value)
    assert "marketing window (sat closed)" in str(caught.value)


def test_effective_window_lunch_gap_cannot_be_bridged() -> None:
    with pytest.raises(WindowError) as caught:
        effective_window("collections", "mon 11:00-15:00", None)

    assert "mon 11:00-15:00" in str(caught.value)


def test_effective_window_unknown_kind_raises() -> None:
    with pytest.raises(UnknownKindError):
        effective_window("lottery", None, None)


def test_institution_windows_every_kind_has_default() -> None:
    assert set(KINDS) <= set(DEFAULT_WINDOWS)
    assert set(institution_windows(None)) == set(DEFAULT_WINDOWS)


def test_institution_windows_setting_overrides_one_kind() -> None:
    windows = institution_windows('{"marketing": "sat 10:00-11:00"}')

    assert windows["marketing"].intervals("sat") == ((600, 660),)
    assert windows["marketing"].intervals("mon") == ()
    assert windows["collections"] == parse_window(DEFAULT_WINDOWS["collections"])


def test_institution_windows_bad_setting_names_kind() -> None:
    with pytest.raises(WindowError) as caught:
        institution_windows('{"survey": "mon 12:00-11:00"}')

    assert "calling window of survey in settings" in str(caught.value)
    with pytest.raises(UnknownKindError):
        institution_windows('{"raffle": "mon 10:00-11:00"}')


def test_institution_windows_from_file_setting(tmp_path: Path) -> None:
    path = tmp_path / "windows.json"
    path.write_text('{"greeting": "sun 10:00-11:00"}', encoding="utf-8")

    windows = institution_windows(f"@{path}")

    assert windows["greeting"].intervals("sun") == ((600, 660),)
    with pytest.raises(WindowError, match="cannot read calling windows file"):
        institution_windows(f"@{tmp_path / 'missing.json'}")
