"""
Report files: CSV, XLSX and HTML, masked by default, optionally in an AES zip.

``build_export`` gathers the figures (and, when asked, the call list) for a
viewer, masks customer fields unless a director gave a reason, neutralises
spreadsheet formulas, renders the format and audits the export. Every format
passes through the same ``ExportData`` so none can skip masking.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import asyncpg
import jinja2
import openpyxl
import structlog
from openpyxl.styles import Font, PatternFill

from engine.reports import charts
from engine.reports.access import Viewer, audit_read, require_unmasked
from engine.reports.calls import call_rows, mask_calls
from engine.reports.columns import columns_for, display, export_value, row_values
from engine.reports.crypto import write_aes_zip
from engine.reports.effects import effect_summary
from engine.reports.exceptions import ExportError
from engine.reports.formula import neutralise_row
from engine.reports.stats import (
    CampaignReport,
    Grouping,
    by_outcome,
    campaign_report,
    load_campaign,
    totals,
)

log = structlog.get_logger(__name__)

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("engine.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


# Known limit: the call list is read into memory whole; CSV has no row cap,
# XLSX stops at its sheet limit and HTML at what a browser shows comfortably.
CALL_LIMITS: dict[str, int] = {"xlsx": 1_048_000, "html": 5_000}


class ExportFormat(StrEnum):
    """The file formats a report can be written in."""

    CSV = "csv"
    XLSX = "xlsx"
    HTML = "html"


@dataclass
class ExportData:
    """Everything one export shows, already masked when it must be."""

    report: CampaignReport
    hourly: CampaignReport
    operators: CampaignReport
    generated_by: str
    masked: bool
    call_columns: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ExportRequest:
    """What a viewer asked for."""

    campaign: str | int
    grouping: Grouping = Grouping.CAMPAIGN
    fmt: ExportFormat = ExportFormat.CSV
    include_calls: bool = False
    unmasked_reason: str | None = None
    unmasked: bool = False


async def gather(
    conn: asyncpg.Connection, who: Viewer, request: ExportRequest, as_of: datetime
) -> ExportData:
    """Collect and (unless allowed otherwise) mask the data of an export."""
    grouping = request.grouping
    if who.role == "operator" and grouping not in (Grouping.OPERATOR,):
        grouping = Grouping.OPERATOR
    scope = who.scope
    report = await campaign_report(
        conn, request.campaign, grouping, as_of=as_of, scope=scope
    )
    hourly = await campaign_report(
        conn, report.campaign_id, Grouping.HOUR, as_of=as_of, scope=scope
    )
    operators = await campaign_report(
        conn, report.campaign_id, Grouping.OPERATOR, as_of=as_of, scope=scope
    )
    data = ExportData(report, hourly, operators, who.actor, masked=True)
    if request.fmt == ExportFormat.HTML:
        data.effects = await effect_summary(conn, report.campaign_id, scope)
    if request.include_calls:
        limit = CALL_LIMITS.get(request.fmt)
        data.call_columns, rows = await call_rows(
            conn,
            report.campaign_id,
            report.timezone,
            scope,
            limit=None if limit is None else limit + 1,
        )
        if limit is not None and len(rows) > limit:
            raise ExportError(
                f"{len(rows) - 1}+ calls do not fit one {request.fmt.value} export"
                f" (at most {limit}); export them as csv"
            )
        data.calls = rows if request.unmasked else mask_calls(data.call_columns, rows)
    data.masked = not request.unmasked
    if who.role == "operator":
        data.hourly.rows = []

    return data


def stats_matrix(report: CampaignReport) -> tuple[list[tuple[str, str]], list[list]]:
    """Columns and raw value rows of a report, with a total row if grouped."""
    rows = list(report.rows)
    if report.grouping != Grouping.CAMPAIGN and rows:
        rows.append(totals(rows))
    columns = columns_for(rows, report.grouping.value)

    return columns, [row_values(r, columns) for r in rows]


def render_csv(data: ExportData) -> bytes:
    """The call list if included, else the statistics, as UTF-8 CSV with BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if data.call_columns:
        writer.writerow(data.call_columns)
        for record in data.calls:
            writer.writerow(
                neutralise_row(_blank(record[c]) for c in data.call_columns)
            )
    else:
        columns, rows = stats_matrix(data.report)
        writer.writerow([title for title, _ in columns])
        for values in rows:
            cells = (
                export_value(v, kind)
                for v, (_, kind) in zip(values, columns, strict=True)
            )
            writer.writerow(neutralise_row(cells))

    # The BOM makes spreadsheet programs read Chinese names as UTF-8.
    return buffer.getvalue().encode("utf-8-sig")


def _blank(value: Any) -> Any:
    return "" if value is None else value


def render_xlsx(data: ExportData) -> bytes:
    """A workbook: a sheet of statistics, and a sheet of calls if included."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Statistics"
    columns, rows = stats_matrix(data.report)
    sheet.append([title for title, _ in columns])
    for values in rows:
        cells = (
            export_value(v, kind) for v, (_, kind) in zip(values, columns, strict=True)
        )
        sheet.append(neutralise_row(cells))
    _style_header(sheet, len(columns))
    for index, (_, kind) in enumerate(columns, start=1):
        if kind == "pct":
            for cell in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell[0].number_format = "0.0%"
    if data.call_columns:
        calls = book.create_sheet("Calls")
        calls.append(data.call_columns)
        for record in data.calls:
            calls.append(neutralise_row(_blank(record[c]) for c in data.call_columns))
        _style_header(calls, len(data.call_columns))
    _check_no_formulas(book)
    out = io.BytesIO()
    book.save(out)

    return out.getvalue()


def _style_header(sheet: Any, width: int) -> None:
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="1F5F99")
    for cell in sheet[1][:width]:
        cell.font = bold
        cell.fill = fill
    sheet.freeze_panes = "B2"


def _check_no_formulas(book: openpyxl.Workbook) -> None:
    # openpyxl stores any text starting with "=" as a formula; neutralising
    # must have removed all of them, and an export never carries formulas.
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    raise ExportError(
                        f"formula left in cell {sheet.title}!{cell.coordinate}"
                    )


def render_html(data: ExportData) -> bytes:
    """A self-contained HTML page with KPIs, inline SVG charts and tables."""
    report = data.report
    total = totals(report.rows) if report.rows else None
    columns, rows = stats_matrix(report)
    shown = [
        [(display(v, kind), kind) for v, (_, kind) in zip(r, columns, strict=True)]
        for r in rows
    ]
    hours = [(r.key, r.dialled or 0, r.connected) for r in data.hourly.rows]
    ops = [(r.key, r.connected, r.avg_talk_s) for r in data.operators.rows]
    page = _TEMPLATES.get_template("report.html.j2").render(
        title=f"Campaign report — {report.campaign_name}",
        campaign=report.campaign_name,
        grouping=report.grouping.value,
        timezone=report.timezone,
        generated_at=report.as_of.strftime("%Y-%m-%d %H:%M UTC"),
        generated_by=data.generated_by,
        masked=data.masked,
        kpis=_kpis(total),
        hourly_svg=charts.hourly_chart(hours, "Calls and connects per hour"),
        outcome_svg=charts.outcome_donut(by_outcome(report.rows), "Outcome mix"),
        operator_svg=charts.operator_chart(ops, "Operator comparison"),
        disposition_svg=charts.bar_list(
            list((total.dispositions if total else {}).items()), "Dispositions"
        ),
        columns=columns,
        rows=shown,
        has_total=report.grouping != Grouping.CAMPAIGN and bool(report.rows),
        call_columns=data.call_columns,
        call_rows=data.calls,
        effects=data.effects,
    )

    return page.encode("utf-8")


def _kpis(total: Any) -> list[tuple[str, str]]:
    if total is None:
        return []
    pairs = (
        ("records received", total.received, "int"),
        ("dialled", total.dialled, "int"),
        ("connected", total.connected, "int"),
        ("connect rate", total.connect_rate, "pct"),
        ("completion rate", total.completion_rate, "pct"),
        ("abandon rate", total.abandon_rate, "pct"),
        ("avg talk (s)", total.avg_talk_s, "sec"),
        ("complaints", total.complaints, "int"),
    )
    return [(label, display(value, kind)) for label, value, kind in pairs]


RENDERERS = {
    ExportFormat.CSV: render_csv,
    ExportFormat.XLSX: render_xlsx,
    ExportFormat.HTML: render_html,
}


async def build_export(
    conn: asyncpg.Connection, who: Viewer, request: ExportRequest, as_of: datetime
) -> tuple[ExportData, bytes]:
    """Check rights, gather, render and audit one export; return its bytes."""
    reason = None
    if request.unmasked:
        reason = require_unmasked(who, request.unmasked_reason)
    campaign = await load_campaign(conn, request.campaign)
    data = await gather(conn, who, request, as_of)
    content = RENDERERS[request.fmt](data)
    await audit_read(
        conn,
        who,
        "report_exported",
        "campaign",
        campaign["id"],
        format=request.fmt.value,
        grouping=data.report.grouping.value,
        masked=data.masked,
        reason=reason,
        calls=len(data.calls),
    )
    log.info(
        "report_exported",
        campaign_id=campaign["id"],
        format=request.fmt.value,
        masked=data.masked,
        calls=len(data.calls),
    )

    return data, content


def save_export(
    content: bytes, out: Path, member_name: str, password: str | None
) -> Path:
    """Write an export to disk, inside an AES-256 zip when a password is given."""
    if password is None:
        out.write_bytes(content)
        return out
    write_aes_zip(out, {member_name: content}, password)

    return out
