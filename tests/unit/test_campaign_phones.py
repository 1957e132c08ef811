"""Phone number normalisation: the shapes bank lists use, and the fast path."""

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.campaigns.exceptions import InvalidPhoneError
from engine.campaigns.phones import normalise


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "(138) 0013-8000",
        "+86 138 0013 8000",
        "+8613800138000",
        "0086 138 0013 8000",
        "0086-13800138000",
        "8613800138000",
        "１３８００１３８０００",
        "＋８６　１３８－００１３－８０００",
        " 13800138000 ",
    ],
)
def test_normalise_cn_mobile_shapes_give_e164(raw: str):
    assert normalise(raw, "CN") == "+8613800138000"


def test_normalise_cn_land_line_with_trunk_prefix_gives_e164():
    assert normalise("(010) 6552-9988", "CN") == "+861065529988"


def test_normalise_foreign_number_keeps_its_country():
    assert normalise("+852 6123 4567", "CN") == "+85261234567"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty phone number"),
        ("   ", "empty phone number"),
        ("abc", "not a phone number"),
        ("12345", "not a valid number"),
        ("1380013800012345678", "too long"),
        ("+999 1234 5678", "invalid country code"),
    ],
)
def test_normalise_bad_input_raises_with_reason(raw: str, reason: str):
    with pytest.raises(InvalidPhoneError) as caught:
        normalise(raw, "CN")

    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def _reference(raw: str, region: str) -> str | None:
    """What phonenumbers alone says, or None for an invalid number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None

    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _ours(raw: str, region: str) -> str | None:
    try:
        return normalise(raw, region)
    except InvalidPhoneError:
        return None


@settings(max_examples=400, deadline=None)
@given(
    prefix=st.sampled_from(["", "+86", "0086", "86", "0", "+1", "00852"]),
    digits=st.text(alphabet="0123456789", min_size=6, max_size=13),
    region=st.sampled_from(["CN", "HK", "US", "GB", "SG"]),
)
def test_normalise_agrees_with_phonenumbers(prefix: str, digits: str, region: str):
    raw = prefix + digits

    assert _ours(raw, region) == _reference(raw, region)


@settings(max_examples=400, deadline=None)
@given(
    prefix=st.sampled_from(["", "+86", "0086"]),
    rest=st.text(alphabet="0123456789", min_size=10, max_size=10),
)
def test_normalise_cn_mobile_like_agrees_with_phonenumbers(prefix: str, rest: str):
    raw = prefix + "1" + rest

    assert _ours(raw, "CN") == _reference(raw, "CN")
