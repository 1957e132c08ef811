"""
Bulk loads and exports of the do-not-call list, built for lists of millions.

A file is one number per line (or a CSV whose first column is the number; a
header line naming it is skipped). Numbers are checked in Python on the way
in: a line already in E.164 that matches the default region's mobile pattern
(the shape of almost every line of a bank's or regulator's list) is taken by a
single regular expression; any other line goes through the project's
normaliser, and a line that is not a phone number is reported with its line
number and reason while the good ones still load (unless ``strict``).

Good numbers are streamed with COPY into a temporary staging table and merged
into ``dnc_entries`` by one set-based upsert in the same transaction, so an
import is all or nothing, and then the pending contacts it hits are marked
suppressed. The import itself is one audit row with its counts; each contact
it suppresses gets its own.
"""

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import asyncpg
import structlog
from phonenumbers import PhoneMetadata

from engine.campaigns.exceptions import InvalidPhoneError
from engine.campaigns.phones import normalise
from engine.compliance.dnc import SUPPRESS_PENDING, check_scope, check_source
from engine.compliance.exceptions import DncImportError
from engine.db.audit import audit

log = structlog.get_logger(__name__)

_HEADERS = frozenset({"phone", "number", "phone_number", "msisdn", "mobile", "tel"})
_CHUNK_LINES = 100_000
_MERGE = """
WITH src AS (SELECT DISTINCT phone FROM dnc_staging),
up AS (
    INSERT INTO dnc_entries AS d (phone, scope, source, reason, added_by, added_at,
        expires_at)
    SELECT phone, $1, $2, $3, $4, $5, $6 FROM src ORDER BY phone
    ON CONFLICT (phone, scope) WHERE removed_at IS NULL DO UPDATE SET
        source = EXCLUDED.source, reason = EXCLUDED.reason,
        added_by = EXCLUDED.added_by, added_at = EXCLUDED.added_at,
        expires_at = CASE
            WHEN d.expires_at IS NOT NULL AND d.expires_at <= EXCLUDED.added_at
                THEN EXCLUDED.expires_at
            WHEN d.expires_at IS NULL OR EXCLUDED.expires_at IS NULL THEN NULL
            ELSE greatest(d.expires_at, EXCLUDED.expires_at) END
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS added, count(*) AS total FROM up
"""


@dataclass(frozen=True)
class Rejected:
    """A line of the file that is not a phone number."""

    line: int
    raw: str
    reason: str


@dataclass
class ImportResult:
    """What an import read, loaded and refused."""

    lines: int = 0
    valid: int = 0
    added: int = 0
    renewed: int = 0
    suppressed_contacts: int = 0
    rejected_count: int = 0
    rejected: list[Rejected] = field(default_factory=list)


@lru_cache(maxsize=16)
def _fast_patterns(region: str) -> tuple[re.Pattern[str], str] | None:
    """A regex for the region's mobiles, with or without +cc, and the +cc."""
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.mobile is None or not meta.mobile.national_number_pattern:
        return None
    lengths = meta.mobile.possible_length or meta.general_desc.possible_length or ()
    ahead = "|".join(f"\\d{{{n}}}$" for n in lengths)
    look = f"(?={ahead})" if ahead else ""
    prefix = f"+{meta.country_code}"
    pattern = re.compile(
        f"(\\+{meta.country_code})?{look}(?:{meta.mobile.national_number_pattern})"
    )

    return pattern, prefix


class _Reader:
    """Turns lines into E.164 numbers, collecting the rejected ones."""

    def __init__(self, region: str, result: ImportResult, keep: int) -> None:
        self.region = region
        self.fast = _fast_patterns(region)
        self.result = result
        self.keep = keep

    def numbers(self, lines: Iterable[str]) -> Iterator[str]:
        """Yield the E.164 form of every good line."""
        fast, prefix = self.fast if self.fast is not None else (None, "")
        number = 0
        for number, line in enumerate(lines, 1):
            text = line.strip()
            match = fast.fullmatch(text) if fast is not None else None
            if match is not None:
                yield text if match.start(1) == 0 else prefix + text
                continue
            phone = self._slow(number, text)
            if phone is not None:
                yield phone
        self.result.lines = number

    def _slow(self, number: int, text: str) -> str | None:
        first = re.split(r"[,;\t]", text, maxsplit=1)[0].strip().strip('"')
        if not first or first.startswith("#"):
            return None
        if number == 1 and first.lower() in _HEADERS:
            return None
        try:
            return normalise(first, self.region)
        except InvalidPhoneError as exc:
            self.result.rejected_count += 1
            if len(self.result.rejected) < self.keep:
                self.result.rejected.append(Rejected(number, text, exc.reason))
            return None


async def _chunks(numbers: Iterator[str], result: ImportResult) -> AsyncIterator[bytes]:
    batch: list[str] = []
    for phone in numbers:
        batch.append(phone)
        if len(batch) >= _CHUNK_LINES:
            result.valid += len(batch)
            yield ("\n".join(batch) + "\n").encode()
            batch = []
    if batch:
        result.valid += len(batch)
        yield ("\n".join(batch) + "\n").encode()


async def import_numbers(
    conn: asyncpg.Connection,
    lines: Iterable[str],
    *,
    scope: str,
    source: str,
    reason: str,
    actor: str,
    now: datetime,
    expires_at: datetime | None = None,
    region: str = "CN",
    strict: bool = False,
    keep_rejected: int = 1000,
    label: str = "",
) -> ImportResult:
    """Load numbers into the list in one transaction; see the module docstring."""
    scope, source = check_scope(scope), check_source(source)
    result = ImportResult()
    reader = _Reader(region.upper(), result, keep_rejected)
    async with conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE dnc_staging (phone text) ON COMMIT DROP;"
            " SET LOCAL work_mem = '256MB'"
        )
        await conn.copy_to_table(
            "dnc_staging", source=_chunks(reader.numbers(lines), result)
        )
        if strict and result.rejected_count:
            raise DncImportError(
                f"{result.rejected_count} lines are not phone numbers (first: line"
                f" {result.rejected[0].line}, {result.rejected[0].reason});"
                " nothing was loaded"
            )
        row = await conn.fetchrow(_MERGE, scope, source, reason, actor, now, expires_at)
        result.added, result.renewed = row["added"], row["total"] - row["added"]
        await _finish(conn, result, scope, source, actor, now, label)

    return result


async def _finish(
    conn: asyncpg.Connection,
    result: ImportResult,
    scope: str,
    source: str,
    actor: str,
    now: datetime,
    label: str,
) -> None:
    done = await conn.execute(
        SUPPRESS_PENDING.format(where="d.scope = $3 AND d.added_at = $1"),
        now,
        actor,
        scope,
    )
    result.suppressed_contacts = int(done.rsplit(" ", 1)[1])
    await audit(
        conn,
        actor,
        "dnc_imported",
        "dnc_import",
        label or None,
        scope=scope,
        source=source,
        lines=result.lines,
        valid=result.valid,
        added=result.added,
        renewed=result.renewed,
        rejected=result.rejected_count,
        suppressed_contacts=result.suppressed_contacts,
    )
    log.info(
        "dnc_imported",
        added=result.added,
        renewed=result.renewed,
        rejected=result.rejected_count,
        suppressed_contacts=result.suppressed_contacts,
    )


async def import_file(
    conn: asyncpg.Connection, path: Path, **options: object
) -> ImportResult:
    """Import a text or CSV file (UTF-8, with or without BOM)."""
    try:
        handle = path.open(encoding="utf-8-sig", errors="strict", newline="")
    except OSError as exc:
        raise DncImportError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        try:
            return await import_numbers(conn, handle, label=path.name, **options)  # type: ignore[arg-type]
        except UnicodeDecodeError as exc:
            raise DncImportError(
                f"{path.name} is not UTF-8 text: {exc.reason}"
            ) from None


async def export_csv(
    conn: asyncpg.Connection, path: Path, *, now: datetime, everything: bool = False
) -> int:
    """Write the live entries (or every entry) as CSV; return the row count."""
    where = (
        ""
        if everything
        else ("WHERE removed_at IS NULL AND (expires_at IS NULL OR expires_at > $1)")
    )
    query = (
        "SELECT phone, scope, source, reason, added_by, added_at, expires_at,"
        f" removed_at, removed_by, removal_reason FROM dnc_entries {where}"
        " ORDER BY phone, scope"
    )
    args = () if everything else (now,)
    status = await conn.copy_from_query(
        query, *args, output=str(path), format="csv", header=True
    )

    return int(status.rsplit(" ", 1)[1])
