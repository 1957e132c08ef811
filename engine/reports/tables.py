"""
Statistics and call lists as rich tables for the terminal.
"""

from typing import Any

from rich.table import Table

from engine.reports.columns import display
from engine.reports.export import stats_matrix
from engine.reports.stats import CampaignReport


def stats_tables(report: CampaignReport, width: int = 120) -> list[Table]:
    """The report's figures, one column per group (and a total when grouped).

    Figures run down the rows so that a dozen of them fit a terminal; groups
    that do not fit side by side spill into further tables.
    """
    columns, rows = stats_matrix(report)
    per_table = max(1, (width - 24) // 14)
    caption = f"as of {report.as_of:%Y-%m-%d %H:%M} UTC · times in {report.timezone}"
    tables = []
    for start in range(0, max(len(rows), 1), per_table):
        chunk = rows[start : start + per_table]
        table = Table(
            title=f"{report.campaign_name} — by {report.grouping.value}",
            caption=caption,
            header_style="bold cyan",
        )
        table.add_column("figure", style="bold")
        for values in chunk:
            table.add_column(str(values[0]), justify="right")
        for index, (title, kind) in enumerate(columns[1:], start=1):
            table.add_row(title, *(display(values[index], kind) for values in chunk))
        tables.append(table)

    return tables


def calls_table(columns: list[str], rows: list[dict[str, Any]]) -> Table:
    """A call list (already masked by the caller)."""
    table = Table(title="Calls", header_style="bold cyan")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))

    return table
