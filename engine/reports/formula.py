"""
Neutralising spreadsheet formulas in exported cells (CSV and XLSX injection).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return may be run as a formula by a spreadsheet. Such a cell gets a leading
apostrophe, which spreadsheets show as text and never evaluate. Numbers stay
numbers: a negative amount is not text and is not touched.
"""

from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The cell value, made inert if it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def neutralise_row(values: Iterable[Any]) -> list[Any]:
    """Every cell of a row made inert."""
    return [neutralise(v) for v in values]
