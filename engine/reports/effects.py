"""
Effect tracking: business results (payments received, products sold) imported
per contact and matched to the calls that may have earned them.

The CSV has a header with ``phone`` (or ``contact_id``), ``result``, and
``occurred_at`` (ISO date or date-time; a bare date is midnight in the
campaign's time zone), and optionally ``amount``. A row is matched to its
contact in the campaign by id or by number (normalised like the contact
import), then to that contact's last *answered* attempt started at or before
the result and no more than ``window_days`` earlier; a result with a contact
but no such call is kept unmatched. Bad rows are reported by line and the good
ones still load, all in one transaction with one ``effect_imports`` row.
"""

import asyncio
import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from engine.campaigns.exceptions import InvalidPhoneError
from engine.campaigns.phones import normalise
from engine.db.audit import audit
from engine.reports.exceptions import ReportError
from engine.reports.stats import Scope, load_campaign

log = structlog.get_logger(__name__)

REQUIRED = ("result", "occurred_at")


@dataclass
class EffectImport:
    """What an effect import did."""

    import_id: int
    loaded: int = 0
    matched_calls: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    contact_id: int
    result: str
    amount: Decimal | None
    occurred_at: datetime


def _parse_time(value: str, tz: ZoneInfo) -> datetime:
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"occurred_at is not an ISO date or time: {text!r}") from None
    if len(text) <= 10:
        parsed = datetime.combine(parsed.date(), time(0))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _parse_amount(value: str | None) -> Decimal | None:
    if value is None or not value.strip():
        return None
    try:
        amount = Decimal(value.strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"amount is not a number: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"amount is not a number: {value!r}")
    return amount


class _Matcher:
    """Finds a row's contact by id or number in one campaign."""

    def __init__(self, by_phone: dict[str, int], ids: set[int], region: str) -> None:
        self.by_phone = by_phone
        self.ids = ids
        self.region = region

    def contact(self, record: dict[str, str]) -> int:
        raw_id = (record.get("contact_id") or "").strip()
        if raw_id:
            if not raw_id.isdigit() or int(raw_id) not in self.ids:
                raise ValueError(f"no contact {raw_id} in this campaign")
            return int(raw_id)
        raw_phone = (record.get("phone") or "").strip()
        if not raw_phone:
            raise ValueError("neither phone nor contact_id given")
        try:
            phone = normalise(raw_phone, self.region)
        except InvalidPhoneError as exc:
            raise ValueError(f"bad phone: {exc.reason}") from None
        if phone not in self.by_phone:
            raise ValueError("phone is not a contact of this campaign")
        return self.by_phone[phone]


def parse_rows(
    text: str, matcher: _Matcher, tz: ZoneInfo
) -> tuple[list[_Row], list[tuple[int, str]]]:
    """Good rows and (line, reason) of bad ones."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing or not ({"phone", "contact_id"} & set(header)):
        need = ", ".join(missing) or "phone or contact_id"
        raise ReportError(f"effect file lacks column(s): {need}")
    reader.fieldnames = header
    rows, bad = [], []
    for record in reader:
        line = reader.line_num
        try:
            result = (record.get("result") or "").strip()
            if not result or len(result) > 100:
                raise ValueError("result is empty or longer than 100 characters")
            rows.append(
                _Row(
                    line,
                    matcher.contact(record),
                    result,
                    _parse_amount(record.get("amount")),
                    _parse_time(record.get("occurred_at") or "", tz),
                )
            )
        except ValueError as exc:
            bad.append((line, str(exc)))

    return rows, bad


async def _matcher(conn: asyncpg.Connection, campaign: asyncpg.Record) -> _Matcher:
    rows = await conn.fetch(
        "SELECT id, phone FROM contacts WHERE campaign_id = $1", campaign["id"]
    )
    region = await conn.fetchval(
        "SELECT default_region FROM campaigns WHERE id = $1", campaign["id"]
    )
    return _Matcher(
        {r["phone"]: r["id"] for r in rows}, {r["id"] for r in rows}, region
    )


async def import_effects(
    conn: asyncpg.Connection,
    campaign: str | int,
    path: Path,
    *,
    actor: str,
    window_days: int = 30,
) -> EffectImport:
    """Load a business results file into a campaign and match it to calls."""
    content = await asyncio.to_thread(path.read_bytes)
    text = _decode(content, path)
    camp = await load_campaign(conn, campaign)
    rows, bad = parse_rows(text, await _matcher(conn, camp), ZoneInfo(camp["timezone"]))

    async with conn.transaction():
        import_id = await _record_import(
            conn, camp["id"], path.name, content, len(rows), len(bad), actor
        )
        await _store_results(conn, import_id, camp["id"], rows)
        matched = await _match(conn, import_id, window_days)
        await audit(
            conn,
            actor,
            "effects_imported",
            "campaign",
            camp["id"],
            import_id=import_id,
            loaded=len(rows),
            rejected=len(bad),
            matched=matched,
        )
    log.info(
        "effects_imported", import_id=import_id, loaded=len(rows), rejected=len(bad)
    )

    return EffectImport(import_id, len(rows), matched, bad)


def _decode(content: bytes, path: Path) -> str:
    """The file's text; a clear error naming the file when it is not UTF-8."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReportError(f"{path.name} is not UTF-8: {exc.reason}") from None


async def _record_import(
    conn: asyncpg.Connection,
    campaign_id: int,
    file_name: str,
    content: bytes,
    loaded: int,
    rejected: int,
    actor: str,
) -> int:
    """The ``effect_imports`` row (with the file's SHA-256); its id."""
    import_id: int = await conn.fetchval(
        "INSERT INTO effect_imports (campaign_id, file_name, sha256, rows_loaded,"
        " rows_rejected, imported_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        campaign_id,
        file_name,
        hashlib.sha256(content).hexdigest(),
        loaded,
        rejected,
        actor,
    )

    return import_id


async def _store_results(
    conn: asyncpg.Connection, import_id: int, campaign_id: int, rows: list[_Row]
) -> None:
    """Insert the good rows of one import into ``effect_results``."""
    await conn.executemany(
        "INSERT INTO effect_results (import_id, campaign_id, contact_id, result,"
        " amount, occurred_at, source_line) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            (
                import_id,
                campaign_id,
                r.contact_id,
                r.result,
                r.amount,
                r.occurred_at,
                r.line,
            )
            for r in rows
        ],
    )


async def _match(conn: asyncpg.Connection, import_id: int, window_days: int) -> int:
    """Credit each result to its contact's last answered call before it."""
    status = await conn.execute(
        """
        UPDATE effect_results e SET attempt_id = m.id
        FROM effect_results r
        CROSS JOIN LATERAL (
            SELECT a.id FROM call_attempts a
            WHERE a.contact_id = r.contact_id AND a.outcome = 'answered'
              AND a.created_at <= r.occurred_at
              AND a.created_at > r.occurred_at - make_interval(days => $2)
            ORDER BY a.created_at DESC LIMIT 1
        ) m
        WHERE e.id = r.id AND r.import_id = $1
        """,
        import_id,
        window_days,
    )
    return int(status.split()[-1])


async def effect_summary(
    conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int, scope: Scope
) -> list[dict[str, Any]]:
    """Per result and operator: how many, how much, how many credited to calls."""
    rows = await conn.fetch(
        """
        SELECT e.result, oc.operator_id AS operator, count(*) AS results,
               count(e.attempt_id) AS matched, sum(e.amount) AS amount
        FROM effect_results e
        LEFT JOIN operator_calls oc ON oc.call_id = e.attempt_id
        LEFT JOIN operators o ON o.id = oc.operator_id
        WHERE e.campaign_id = $1
          AND ($2::text[] IS NULL OR oc.operator_id = ANY($2))
          AND ($3::text[] IS NULL OR o.team = ANY($3))
        GROUP BY 1, 2 ORDER BY 1, 2 NULLS LAST
        """,
        campaign_id,
        *scope.as_arrays(),
    )
    return [dict(r) for r in rows]
