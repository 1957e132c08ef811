"""
Phone numbers to E.164, as the dialer and the do-not-call list need them.

``normalise`` gives the same answer as ``phonenumbers`` (parse, is_valid,
format E.164) but takes a fast path for the shape almost every bank list is
in: a mobile number of the default region, possibly written with ``+86`` or
``0086``, spaces, dashes, parentheses or full-width digits. The fast path
matches the cleaned digits against the region's own mobile pattern from the
phonenumbers metadata, which is what ``is_valid_number`` itself checks, so the
two paths agree; everything else goes through phonenumbers (about 20 µs a
number against about 1 µs).
"""

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, ValidationResult

from engine.campaigns.exceptions import InvalidPhoneError

# Separators people type inside numbers, dropped before anything else; and
# full-width digits and plus (as Chinese input methods produce) made ASCII.
_SEPARATORS = " \t-–—()（）.\u3000\xa0\u2010\u2011\u2012\uff0d/"
_CLEAN = str.maketrans(
    {
        **{ch: None for ch in _SEPARATORS},
        **{chr(0xFF10 + d): str(d) for d in range(10)},
        "\uff0b": "+",
    }
)
_E164 = phonenumbers.PhoneNumberFormat.E164
_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_POSSIBLE_ERRORS = {
    ValidationResult.INVALID_COUNTRY_CODE: "invalid country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
}


@dataclass(frozen=True)
class _FastShape:
    """What the fast path needs to know about one region."""

    prefixes: tuple[str, ...]  # written before the national number: +86, 0086
    idd: re.Pattern[str] | None  # the region's international dialling prefix
    country_code: str
    national_prefix: re.Pattern[str] | None  # what parsing would strip first
    mobile: re.Pattern[str]
    general: re.Pattern[str]


@lru_cache(maxsize=64)
def _fast_shape(region: str) -> _FastShape | None:
    meta = PhoneMetadata.metadata_for_region(region)
    if (
        meta is None
        or meta.mobile is None
        or meta.mobile.national_number_pattern is None
    ):
        return None
    cc = str(meta.country_code)
    idd = re.compile(meta.international_prefix) if meta.international_prefix else None

    return _FastShape(
        prefixes=(f"+{cc}", f"00{cc}"),
        idd=idd,
        country_code=cc,
        national_prefix=_national_prefix(meta),
        mobile=_pattern(
            meta.mobile.national_number_pattern, meta.mobile.possible_length
        ),
        general=_pattern(
            meta.general_desc.national_number_pattern,
            meta.general_desc.possible_length,
        ),
    )


def _national_prefix(meta: PhoneMetadata) -> re.Pattern[str] | None:
    prefix = meta.national_prefix_for_parsing or meta.national_prefix
    return re.compile(prefix) if prefix else None


def _pattern(pattern: str, lengths: tuple[int, ...] | None) -> re.Pattern[str]:
    """One regex for a number description: its pattern and its lengths."""
    if lengths:
        length = "|".join(f"\\d{{{n}}}$" for n in lengths)
        return re.compile(f"(?={length})(?:{pattern})$")

    return re.compile(f"(?:{pattern})$")


def _fast(cleaned: str, shape: _FastShape) -> str | None:
    """E.164 for a clean mobile number of the region, or None to go the slow way."""
    national = cleaned
    for prefix in shape.prefixes:
        if cleaned.startswith(prefix):
            if prefix[0] == "0" and not _idd_is_00(cleaned, shape.idd):
                return None
            national = cleaned[len(prefix) :]
            break
    if not (national.isascii() and national.isdigit()):
        return None
    if shape.national_prefix and shape.national_prefix.match(national):
        return None
    if shape.mobile.match(national) and shape.general.match(national):
        return f"+{shape.country_code}{national}"

    return None


def _idd_is_00(cleaned: str, idd: re.Pattern[str] | None) -> bool:
    """True if the region's dialling prefix, read as phonenumbers does, is "00"."""
    match = idd.match(cleaned) if idd is not None else None
    return match is not None and match.end() == 2


def normalise(raw: str, region: str = "CN") -> str:
    """
    The E.164 form of ``raw`` read in ``region`` (e.g. "+8613800138000").

    Raises InvalidPhoneError (a ValueError) whose ``reason`` says what is wrong.
    """
    cleaned = raw.strip().translate(_CLEAN)
    if not cleaned:
        raise InvalidPhoneError(raw, "empty phone number")
    shape = _fast_shape(region)
    if shape is not None:
        fast = _fast(cleaned, shape)
        if fast is not None:
            return fast

    return _slow(raw, cleaned, region)


def _slow(raw: str, cleaned: str, region: str) -> str:
    try:
        number = phonenumbers.parse(cleaned, region)
    except NumberParseException as exc:
        reason = _PARSE_ERRORS.get(exc.error_type, "not a phone number")
        raise InvalidPhoneError(raw, reason) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in _POSSIBLE_ERRORS:
        raise InvalidPhoneError(raw, _POSSIBLE_ERRORS[possible])
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneError(raw, "not a valid number")

    return phonenumbers.format_number(number, _E164)
