"""
Where the called party is: their time zones and country, from the contact.

An explicit ``contacts.timezone`` wins. Otherwise the number says, through
``phonenumbers``: one zone for most numbers, several for some (a US toll-free
number maps to dozens), none for some (``Etc/Unknown``), in which case the
campaign's zone is used and the contact is counted as a fallback.
"""

import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, timezone

_UNKNOWN = "Etc/Unknown"


@dataclass(frozen=True)
class Place:
    """The zones a contact may be in, their country, and how we know."""

    zones: tuple[zoneinfo.ZoneInfo, ...]
    country: str
    source: str  # "contact", "number" or "fallback"
    fallback_reason: str | None = None

    @property
    def zone_names(self) -> tuple[str, ...]:
        """The IANA names of the zones."""
        return tuple(z.key for z in self.zones)


def locate(
    phone: str, explicit_zone: str | None, campaign_zone: str, default_region: str
) -> Place:
    """The place of a contact, from its explicit zone or its number."""
    country = country_of(phone) or default_region
    if explicit_zone:
        zone = _zone(explicit_zone)
        if zone is not None:
            return Place((zone,), country, "contact")
        reason = f"contact time zone {explicit_zone!r} is not an IANA zone"
    else:
        names = zones_of(phone)
        zones = tuple(z for z in map(_zone, names) if z is not None)
        if zones:
            return Place(zones, country, "number")
        reason = "the number maps to no time zone"
    fallback = _zone(campaign_zone) or zoneinfo.ZoneInfo("UTC")

    return Place((fallback,), country, "fallback", reason)


@lru_cache(maxsize=65536)
def zones_of(phone: str) -> tuple[str, ...]:
    """The zone names ``phonenumbers`` gives for an E.164 number; may be empty."""
    try:
        number = phonenumbers.parse(phone, None)
    except NumberParseException:
        return ()
    names = timezone.time_zones_for_number(number)

    return tuple(n for n in names if n != _UNKNOWN)


@lru_cache(maxsize=65536)
def country_of(phone: str) -> str | None:
    """The ISO region of an E.164 number, or None when it has none."""
    try:
        number = phonenumbers.parse(phone, None)
    except NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)

    return region if region and region != "001" else None


@lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
