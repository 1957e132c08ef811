"""
What kind of day a date is in a country: ordinary, holiday, or working.

Public holidays and official make-up working days come from the ``holidays``
package (``weekend_workdays`` holds the weekend days China moves to working
days around its holidays). The institution adds its own closed or open dates
in ``institution_dates``; those win over the package. Precedence:

    institution closed > institution open > public holiday > make-up workday
    > the ordinary weekday
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import asyncpg
import holidays

from engine.compliance.exceptions import CalendarError
from engine.db.audit import audit

ORDINARY = "ordinary"
HOLIDAY = "holiday"
MAKEUP = "makeup_workday"
CLOSED = "closed"
OPEN = "open"


@dataclass(frozen=True)
class DayInfo:
    """What a date is in one country, and the name of the occasion if any."""

    kind: str
    name: str = ""


@lru_cache(maxsize=256)
def _public(country: str, year: int) -> tuple[dict[date, str], frozenset[date]]:
    try:
        found = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return {}, frozenset()
    workdays = getattr(found, "weekend_workdays", set())

    return dict(found.items()), frozenset(d for d in workdays if d.year == year)


class Calendar:
    """Day kinds for any country, with the institution's own dates loaded."""

    def __init__(self, institution: Mapping[tuple[date, str], DayInfo]) -> None:
        self._institution = dict(institution)

    def day(self, country: str, day: date) -> DayInfo:
        """The kind of ``day`` in ``country``."""
        own = self._institution.get((day, country)) or self._institution.get((day, "*"))
        if own is not None:
            return own
        names, workdays = _public(country, day.year)
        if day in names:
            return DayInfo(HOLIDAY, names[day])
        if day in workdays:
            return DayInfo(MAKEUP, "official make-up working day")

        return DayInfo(ORDINARY)


async def load_calendar(conn: asyncpg.Connection, start: date, end: date) -> Calendar:
    """The calendar with the institution's dates between start and end loaded."""
    rows = await conn.fetch(
        "SELECT day, country, status, reason FROM institution_dates"
        " WHERE day BETWEEN $1 AND $2",
        start,
        end,
    )
    own = {
        (r["day"], r["country"]): DayInfo(
            CLOSED if r["status"] == "closed" else OPEN, r["reason"]
        )
        for r in rows
    }

    return Calendar(own)


async def set_date(
    conn: asyncpg.Connection,
    day: date,
    status: str,
    *,
    country: str = "*",
    reason: str,
    actor: str,
) -> None:
    """Mark a date closed or open for one country (or ``*``), audited."""
    if status not in (CLOSED, OPEN):
        raise CalendarError(f"a date is closed or open, not {status!r}")
    country = country.upper()
    if country != "*" and (len(country) != 2 or not country.isalpha()):
        raise CalendarError(f"country {country!r} is not a two-letter code or *")
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO institution_dates (day, country, status, reason, added_by)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day, country) DO UPDATE"
            " SET status = $3, reason = $4, added_by = $5, added_at = now()",
            day,
            country,
            status,
            reason,
            actor,
        )
        await audit(
            conn,
            actor,
            "calendar_date_set",
            "institution_date",
            f"{day.isoformat()}/{country}",
            status=status,
            reason=reason,
        )


async def clear_date(
    conn: asyncpg.Connection, day: date, *, country: str = "*", actor: str
) -> bool:
    """Remove the institution's own entry for a date; True if there was one."""
    async with conn.transaction():
        done = await conn.execute(
            "DELETE FROM institution_dates WHERE day = $1 AND country = $2",
            day,
            country.upper(),
        )
        if done.endswith(" 0"):
            return False
        await audit(
            conn,
            actor,
            "calendar_date_cleared",
            "institution_date",
            f"{day.isoformat()}/{country.upper()}",
        )

    return True


async def list_dates(
    conn: asyncpg.Connection, start: date, end: date
) -> list[asyncpg.Record]:
    """The institution's own dates between start and end."""
    return await conn.fetch(
        "SELECT day, country, status, reason, added_by, added_at"
        " FROM institution_dates WHERE day BETWEEN $1 AND $2 ORDER BY day, country",
        start,
        end,
    )


def public_days(country: str, years: Iterable[int]) -> list[tuple[date, DayInfo]]:
    """The package's holidays and make-up working days for a country."""
    found: list[tuple[date, DayInfo]] = []
    for year in years:
        names, workdays = _public(country.upper(), year)
        found += [(d, DayInfo(HOLIDAY, n)) for d, n in names.items()]
        found += [
            (d, DayInfo(MAKEUP, "official make-up working day")) for d in workdays
        ]

    return sorted(found)
