"""
Loading a contact file into a campaign, fast.

The file is parsed in batches in a worker thread while the previous batch is
streamed with COPY into ``contacts`` (and a temporary staging table), so Python
parsing and Postgres ingest overlap on two cores. Numbers the campaign has
already, or that an earlier row had, are dropped while parsing; an advisory
lock keeps a second import into the same campaign waiting meanwhile. All of it
is one transaction: a file that fails half way (it turns out not to be UTF-8)
loads nothing.

Hooks for other parts (compliance marks do-not-call numbers here)::

    async def hook(conn: asyncpg.Connection, ctx: ImportContext) -> dict | None

run in that transaction after the rows are in ``contacts``, in order; the
staging table ``ctx.staging_table`` (campaign_id, source_line, phone, name,
timezone, fields as text) holds exactly the rows this import added. What a hook returns (counts by
label, e.g. ``{"suppressed": 12}``) is added to ``ImportResult.extra``. Pass
hooks as ``post_load=[...]``, or register them once with
``register_post_load(hook)``: ``post_load=None`` means the registered ones.
"""

import asyncio
import csv
import io
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import asyncpg
import phonenumbers
import structlog

from engine.campaigns.contactfile import (
    Columns,
    ContactReader,
    Record,
    detect_encoding,
    read_csv,
)
from engine.campaigns.exceptions import CampaignError, ImportFileError
from engine.campaigns.models import Campaign
from engine.campaigns.repository import acquire, get_campaign
from engine.db.audit import audit

log = structlog.get_logger(__name__)

STAGING_TABLE = "contact_import_stage"
STAGE_COLUMNS = ("campaign_id", "source_line", "phone", "name", "timezone", "fields")
_LOCK_CLASS = 0x6F64  # with the campaign id: one import per campaign at a time
FIRST_BAD_KEPT = 100


@dataclass(frozen=True)
class ImportContext:
    """What a post-load hook is told about the import it follows."""

    campaign: Campaign
    staging_table: str
    loaded: int
    actor: str


PostLoadHook = Callable[
    [asyncpg.Connection, ImportContext], Awaitable[Mapping[str, int] | None]
]
_REGISTERED: list[PostLoadHook] = []


def register_post_load(hook: PostLoadHook) -> None:
    """Run ``hook`` after every import that does not pass its own hooks."""
    if hook not in _REGISTERED:
        _REGISTERED.append(hook)


@dataclass(frozen=True)
class BadRow:
    """A row that was not loaded: its line in the file and why."""

    line: int
    reason: str


@dataclass
class ImportResult:
    """What an import did."""

    campaign: Campaign
    path: Path
    encoding: str
    rows_read: int = 0
    loaded: int = 0
    duplicates_in_file: int = 0
    duplicates_existing: int = 0
    bad_count: int = 0
    bad: list[BadRow] = field(default_factory=list)
    errors_path: Path | None = None
    extra: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def duplicates(self) -> int:
        """Rows merged into another row of the file or an existing contact."""
        return self.duplicates_in_file + self.duplicates_existing


class _BadRowReport:
    """Keeps the first bad rows in memory and writes all of them to a CSV."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.first: list[BadRow] = []
        self._header = header
        self._file: IO[str] | None = None
        self._writer: Any = None

    def __call__(self, line: int, reason: str, row: Sequence[str]) -> None:
        if len(self.first) < FIRST_BAD_KEPT:
            self.first.append(BadRow(line, reason))
        if self._writer is None:
            # utf-8-sig: spreadsheet programs then read the Chinese text correctly
            self._file = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow(["line", "reason", *self._header])
        self._writer.writerow([line, reason, *row])

    def close(self) -> Path | None:
        """Close the report; the path if any bad row was written."""
        if self._file is None:
            self.path.unlink(missing_ok=True)
            return None
        self._file.close()

        return self.path


async def import_contacts(
    pool: asyncpg.Pool | asyncpg.Connection,
    campaign: str | int,
    path: Path | str,
    *,
    region: str | None = None,
    encoding: str = "auto",
    phone_column: str | None = None,
    name_column: str | None = None,
    timezone_column: str | None = None,
    errors_path: Path | None = None,
    actor: str = "system",
    post_load: Sequence[PostLoadHook] | None = None,
    batch_size: int = 50_000,
) -> ImportResult:
    """
    Load the contacts in CSV file ``path`` into ``campaign`` (name or id).

    Bad rows are reported (first ones in ``result.bad``, all of them in the
    CSV at ``result.errors_path``, by default ``<file>.errors.csv``) while good
    rows load. Raises ImportFileError, loading nothing, for a file that cannot
    be read as a whole (no phone column, wrong encoding, empty).
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}")
    started = time.perf_counter()
    codec = await asyncio.to_thread(detect_encoding, path, encoding)
    hooks = list(_REGISTERED if post_load is None else post_load)
    column_names = (phone_column, name_column, timezone_column)

    async with acquire(pool) as conn, conn.transaction():
        target = await _lock_campaign(conn, campaign)
        result = ImportResult(target, path, codec)
        report_path = errors_path or _default_errors_path(path)
        await _load_file(conn, result, column_names, region, report_path, batch_size)
        await _after_load(conn, result, hooks, actor)

    result.seconds = time.perf_counter() - started
    _log_result(result)

    return result


async def _load_file(
    conn: asyncpg.Connection,
    result: ImportResult,
    column_names: tuple[str | None, str | None, str | None],
    region: str | None,
    errors_path: Path,
    batch_size: int,
) -> None:
    """COPY the file's good rows into the campaign; count and report the rest."""
    target, path, codec = result.campaign, result.path, result.encoding
    existing = await _existing_phones(conn, target.id)
    with read_csv(path, codec) as (header, rows):
        columns = Columns.resolve(header, *column_names)
        report = _BadRowReport(errors_path, columns.header)
        home = _region(region, target)
        reader = ContactReader(
            rows, lambda: rows.line_num, columns, home, report, existing
        )
        try:
            result.loaded = await _copy(
                conn, target.id, reader.batches(batch_size), path, codec
            )
        finally:
            result.errors_path = report.close()
    _count(result, reader, report)


def _region(region: str | None, campaign: Campaign) -> str:
    """The region for numbers without a country code, checked before any row."""
    chosen = (region or campaign.default_region).upper()
    if chosen not in phonenumbers.SUPPORTED_REGIONS:
        raise ImportFileError(f"unknown region {chosen!r} (use a code such as CN)")

    return chosen


async def _lock_campaign(conn: asyncpg.Connection, ref: str | int) -> Campaign:
    """The campaign, with this transaction the only import into it."""
    target = await get_campaign(conn, ref)
    if target.ended:
        raise CampaignError(
            f"campaign {target.name!r} is {target.state}: no contacts can be added"
        )
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", _LOCK_CLASS, target.id)

    return target


async def _existing_phones(conn: asyncpg.Connection, campaign_id: int) -> set[int]:
    rows = await conn.fetch(
        "SELECT substr(phone, 2)::bigint FROM contacts WHERE campaign_id = $1",
        campaign_id,
    )

    return {r[0] for r in rows}


def _default_errors_path(path: Path) -> Path:
    return path.with_name(path.name + ".errors.csv")


def _count(result: ImportResult, reader: ContactReader, report: _BadRowReport) -> None:
    result.rows_read = reader.rows_read
    result.duplicates_in_file = reader.duplicates
    result.duplicates_existing = reader.existing
    result.bad_count = reader.bad
    result.bad = report.first


def _log_result(result: ImportResult) -> None:
    log.info(
        "contacts_imported",
        campaign_id=result.campaign.id,
        rows=result.rows_read,
        loaded=result.loaded,
        duplicates=result.duplicates,
        bad=result.bad_count,
        duration_ms=round(result.seconds * 1000),
    )


async def _copy(
    conn: asyncpg.Connection,
    campaign_id: int,
    batches: Iterator[list[Record]],
    path: Path,
    codec: str,
) -> int:
    """
    COPY each batch into contacts and the staging table; return the rows loaded.

    The next batch is parsed in a worker thread while Postgres takes this one.
    """
    await conn.execute(
        f"CREATE TEMP TABLE {STAGING_TABLE} (campaign_id bigint, source_line integer,"
        " phone text, name text, timezone text, fields text) ON COMMIT DROP"
    )
    loaded = 0

    def parse() -> "asyncio.Future[tuple[bytes, int] | None]":
        return asyncio.ensure_future(
            asyncio.to_thread(_next_chunk, batches, campaign_id, path, codec)
        )

    pending = parse()
    try:
        while (chunk := await pending) is not None:
            pending = parse()
            await _copy_chunk(conn, chunk[0])
            loaded += chunk[1]
    finally:
        if not pending.done():
            await asyncio.wait([pending])
        if not pending.cancelled():
            pending.exception()  # retrieved: the first error is the one raised

    return loaded


async def _copy_chunk(conn: asyncpg.Connection, data: bytes) -> None:
    # CSV rather than binary COPY: the pool's jsonb codec is a text one, and
    # COPY straight into contacts beats INSERT ... SELECT ... ON CONFLICT by a
    # third (duplicates are dropped in Python against the campaign's numbers).
    try:
        for table in ("contacts", STAGING_TABLE):
            await conn.copy_to_table(
                table, source=io.BytesIO(data), columns=STAGE_COLUMNS, format="csv"
            )
    except asyncpg.UniqueViolationError:
        raise ImportFileError(
            "numbers in the file were added to the campaign by another session"
            " during the import; nothing was loaded, run the import again"
        ) from None


def _next_chunk(
    batches: Iterator[list[Record]], campaign_id: int, path: Path, codec: str
) -> tuple[bytes, int] | None:
    """The next batch as COPY CSV (all in C but the parsing), and its size."""
    try:
        batch = next(batches, None)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{path.name} is not {codec}: {exc.reason}; try another --encoding"
        ) from None
    except csv.Error as exc:
        raise ImportFileError(
            f"{path.name} is not a readable CSV file: {exc}"
        ) from None
    if batch is None:
        return None
    out = io.StringIO()
    csv.writer(out).writerows((campaign_id, *record) for record in batch)

    return out.getvalue().encode(), len(batch)


async def _after_load(
    conn: asyncpg.Connection,
    result: ImportResult,
    hooks: Sequence[PostLoadHook],
    actor: str,
) -> None:
    """Run the hooks and audit the import, in the import's transaction."""
    context = ImportContext(result.campaign, STAGING_TABLE, result.loaded, actor)
    for hook in hooks:
        counts = await hook(conn, context)
        for label, n in (counts or {}).items():
            result.extra[label] = result.extra.get(label, 0) + n
    await audit(
        conn,
        actor,
        "contacts_imported",
        "campaign",
        result.campaign.id,
        file=result.path.name,
        encoding=result.encoding,
        rows=result.rows_read,
        loaded=result.loaded,
        duplicates=result.duplicates,
        bad=result.bad_count,
        **result.extra,
    )
