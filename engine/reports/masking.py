"""
Masking of customer fields in anything that leaves the system.

A field is recognised by its name (phone, name, ID or card number); any other
text still has long digit runs masked, because a free-text note can hold a
phone or card number as easily as a dedicated column.
"""

import re
from collections.abc import Iterable, Mapping
from typing import Any

from engine.logging import mask_digits, mask_name

_PHONE_KEY = re.compile(r"(^|_)(phone|mobile|tel|telephone|msisdn|number)$", re.I)
_NAME_KEY = re.compile(r"(^|_)(name|full_name|customer_name|contact_name)$", re.I)
_ID_KEY = re.compile(
    r"(id_?(no|num|number|card)|national_id|passport|ssn|card|pan|account|iban)",
    re.I,
)
# 7 or more digits, possibly broken by spaces or dashes (card numbers often are).
_DIGIT_RUN = re.compile(r"\+?\d(?:[ -]?\d){6,}")


def mask_phone_number(value: str) -> str:
    """Mask a phone number, keeping its "+", first 3 and last 4 digits."""
    digits = re.sub(r"\D", "", value)
    if not digits:
        return value
    prefix = "+" if value.strip().startswith("+") else ""
    return prefix + mask_digits(digits)


def mask_identifier(value: str) -> str:
    """Mask an ID or card number, keeping only its last 4 characters."""
    chars = re.sub(r"[\s-]", "", value)
    if len(chars) <= 4:
        return "*" * len(chars)
    return "*" * (len(chars) - 4) + chars[-4:]


def mask_free_text(value: str) -> str:
    """Mask every run of 7 or more digits in free text."""
    return _DIGIT_RUN.sub(lambda m: mask_identifier(m.group(0)), value)


def field_kind(key: str) -> str:
    """How a field of this name is masked: phone, name, id or text."""
    if _ID_KEY.search(key):
        return "id"
    if _PHONE_KEY.search(key):
        return "phone"
    if _NAME_KEY.search(key):
        return "name"
    return "text"


def mask_value(key: str, value: Any) -> Any:
    """The masked form of one field; non-text values pass unchanged."""
    if not isinstance(value, str) or not value:
        return value
    kind = field_kind(key)
    if kind == "phone":
        return mask_phone_number(value)
    if kind == "name":
        return mask_name(value)
    if kind == "id":
        return mask_identifier(value)
    return mask_free_text(value)


def mask_record(
    record: Mapping[str, Any], customer_keys: Iterable[str] | None = None
) -> dict[str, Any]:
    """A copy of a record with its customer fields (default: all) masked."""
    keys = set(record if customer_keys is None else customer_keys)
    return {k: mask_value(k, v) if k in keys else v for k, v in record.items()}
