"""
Statistics flattened to columns: the one layout shared by terminal tables,
CSV, XLSX and HTML, so every output shows the same figures under the same names.
"""

from typing import Any

from engine.reports.stats import FAILED_OUTCOMES, GroupStats

# (column title, attribute of GroupStats, kind) in display order
FIXED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("records received", "received", "int"),
    ("suppressed", "suppressed", "int"),
    ("completed", "completed", "int"),
    ("completion rate", "completion_rate", "pct"),
    ("dialled", "dialled", "int"),
    ("connected", "connected", "int"),
    ("connect rate", "connect_rate", "pct"),
    ("failed", "failed_total", "int"),
    ("abandoned", "abandoned", "int"),
    ("abandon rate", "abandon_rate", "pct"),
    ("avg talk s", "avg_talk_s", "sec"),
    ("avg wrap-up s", "avg_wrap_s", "sec"),
    ("callbacks pending", "callbacks_pending", "int"),
    ("complaints", "complaints", "int"),
)


def columns_for(rows: list[GroupStats], key_title: str) -> list[tuple[str, str]]:
    """Column titles and kinds: fixed figures, failure reasons, disposition codes."""
    reasons = [r for r in FAILED_OUTCOMES if any((g.failed or {}).get(r) for g in rows)]
    codes = sorted({code for g in rows for code in g.dispositions})
    return [
        (key_title, "key"),
        *((title, kind) for title, _, kind in FIXED_COLUMNS),
        *((f"failed: {r}", "int") for r in reasons),
        *((f"disposition: {c}", "int") for c in codes),
    ]


def row_values(row: GroupStats, columns: list[tuple[str, str]]) -> list[Any]:
    """A group's raw values in column order (None where not applicable)."""
    by_title = {title: attr for title, attr, _ in FIXED_COLUMNS}
    values: list[Any] = []
    for title, _ in columns:
        if title in by_title:
            values.append(getattr(row, by_title[title]))
        elif title.startswith("failed: "):
            failed = row.failed
            values.append(None if failed is None else failed.get(title[8:], 0))
        elif title.startswith("disposition: "):
            values.append(row.dispositions.get(title[13:], 0))
        else:
            values.append(row.key)
    return values


def display(value: Any, kind: str) -> str:
    """A value as text for people: rates in percent, seconds to one decimal."""
    if value is None:
        return "—"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "sec":
        return f"{value:.1f}"
    return str(value)


def export_value(value: Any, kind: str) -> Any:
    """A value for a file: rates as fractions rounded to 4 places, None as blank."""
    if value is None:
        return ""
    if kind in ("pct", "sec"):
        return round(float(value), 4)
    return value
