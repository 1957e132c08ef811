"""
Masking of customer fields and formula neutralisation, cell by cell.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.reports.formula import TRIGGERS, neutralise
from engine.reports.masking import field_kind, mask_record, mask_value


@pytest.mark.parametrize(
    ("key", "value", "masked"),
    [
        ("phone", "+8613800000001", "+861******0001"),
        ("mobile", "138 0000 0001", "138****0001"),
        ("name", "Wang Fang", "W********"),
        ("customer_name", "王小明", "王**"),
        ("id_number", "11010119900307123X", "**************123X"),
        ("card_no", "6222 0202 0011 2233 445", "***************3445"),
        ("account", "12345", "*2345"),
        ("note", "call 13800000001 after 5pm", "call *******0001 after 5pm"),
        ("note", "promised 300 yuan", "promised 300 yuan"),
        ("amount", 12.5, 12.5),
    ],
)
def test_mask_value_by_field_kind_hides_all_but_a_hint(
    key: str, value: object, masked: object
) -> None:
    assert mask_value(key, value) == masked


def test_mask_record_only_named_columns_masked() -> None:
    record = {"started": "2026-03-01 10:00:00", "phone": "+8613800000001"}

    assert mask_record(record, {"phone"}) == {
        "started": "2026-03-01 10:00:00",
        "phone": "+861******0001",
    }


def test_field_kind_card_number_is_an_id_not_a_phone() -> None:
    assert field_kind("card_number") == "id"
    assert field_kind("phone_number") == "phone"


@pytest.mark.parametrize("first", TRIGGERS)
def test_neutralise_trigger_character_prefixed(first: str) -> None:
    assert neutralise(first + "SUM(A1)") == "'" + first + "SUM(A1)"


def test_neutralise_numbers_and_plain_text_untouched() -> None:
    assert neutralise(-5) == -5
    assert neutralise("plain") == "plain"
    assert neutralise("") == ""


@given(st.text())
def test_neutralise_never_leaves_a_trigger_first(text: str) -> None:
    out = neutralise(text)

    assert not out.startswith(TRIGGERS)
    assert out in (text, "'" + text)
