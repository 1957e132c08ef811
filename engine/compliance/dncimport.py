"""
Bulk loads and exports of the do-not-call list, built for lists of millions.

A file is one number per line (or a CSV whose first column is the number; a
header line naming it is skipped). Numbers are checked in Python on the way
in: a line already in E.164 that matches the default region's mobile pattern
(the shape of almost every line of a bank's or regulator's list) is taken by a
single regular expression; any other line goes through the project's
normaliser, and a line that is not a phone number is reported with its line
number and reason while the good ones still load (unless ``strict``).

Good numbers are streamed with COPY into a temporary staging table; one
set-based statement then dedupes and sorts them into the blocks of a new row
of ``dnc_lists`` (see migration 0007), in the same transaction, so an import
is all or nothing. Writing ~45,000 block rows instead of 10 million entry
rows is what keeps a 10-million-number list well under a minute. The pending
contacts the list hits are then marked suppressed. The import is one audit
row with its counts; each contact it suppresses gets its own.
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
from engine.compliance.dnc import check_scope, check_source
from engine.compliance.exceptions import DncError, DncImportError
from engine.db.audit import audit

log = structlog.get_logger(__name__)

_HEADERS = frozenset({"phone", "number", "phone_number", "msisdn", "mobile", "tel"})
_CHUNK_LINES = 100_000
# Numbers per block: the row stays under Postgres' ~2 kB TOAST threshold, so
# a probe reads one plain heap tuple.
BLOCK = 224
# One sort: numbers are numbered in order and cut into blocks; duplicates
# (a number twice in the file) are dropped inside each block's aggregate.
_BUILD = f"""
INSERT INTO dnc_list_blocks (list_id, first_phone, last_phone, phones)
SELECT $1, min(p), max(p), array_agg(DISTINCT p ORDER BY p)
FROM (SELECT phone AS p, (row_number() OVER (ORDER BY phone) - 1) / {BLOCK} AS block
      FROM dnc_staging) s
GROUP BY block
"""
_SUPPRESS = """
WITH hit AS (
    UPDATE contacts c SET state = 'suppressed',
        state_reason = 'dnc:' || $3 || ':' || $4, updated_at = now()
    FROM campaigns k, dnc_staging s
    WHERE k.id = c.campaign_id AND c.state = 'pending'
      AND $4 IN ('all', k.kind) AND substr(c.phone, 2)::bigint = s.phone
    RETURNING c.id, c.campaign_id
)
INSERT INTO audit_log (actor, action, object_type, object_id, details)
SELECT $2, 'contact_suppressed', 'contact', hit.id::text,
    jsonb_build_object('campaign_id', hit.campaign_id, 'dnc_list_id', $1::bigint,
        'source', $3::text, 'scope', $4::text)
FROM hit
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
    numbers: int = 0
    list_id: int | None = None
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
            yield ("\n".join(p[1:] for p in batch) + "\n").encode()
            batch = []
    if batch:
        result.valid += len(batch)
        yield ("\n".join(p[1:] for p in batch) + "\n").encode()


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
    replaces: int | None = None,
) -> ImportResult:
    """
    Load numbers as a new list in one transaction (module docstring); with
    ``replaces``, the list it supersedes stops suppressing in the same commit.
    """
    scope, source = check_scope(scope), check_source(source)
    result = ImportResult()
    reader = _Reader(region.upper(), result, keep_rejected)
    async with conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE dnc_staging (phone bigint) ON COMMIT DROP;"
            " SET LOCAL work_mem = '512MB'"
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
        result.list_id = await conn.fetchval(
            "INSERT INTO dnc_lists (scope, source, reason, file_name, added_by,"
            " added_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            scope,
            source,
            reason,
            label or None,
            actor,
            now,
            expires_at,
        )
        await conn.execute(_BUILD, result.list_id)
        await _finish(conn, result, scope, source, actor, replaces)

    return result


async def _finish(
    conn: asyncpg.Connection,
    result: ImportResult,
    scope: str,
    source: str,
    actor: str,
    replaces: int | None,
) -> None:
    result.numbers = await conn.fetchval(
        "UPDATE dnc_lists SET numbers = (SELECT coalesce(sum(cardinality(phones)), 0)"
        " FROM dnc_list_blocks WHERE list_id = $1) WHERE id = $1 RETURNING numbers",
        result.list_id,
    )
    if replaces is not None:
        await remove_list(
            conn, replaces, actor=actor, reason=f"replaced by list {result.list_id}"
        )
    done = await conn.execute(_SUPPRESS, result.list_id, actor, source, scope)
    result.suppressed_contacts = int(done.rsplit(" ", 1)[1])
    await audit(
        conn,
        actor,
        "dnc_imported",
        "dnc_list",
        result.list_id,
        scope=scope,
        source=source,
        lines=result.lines,
        valid=result.valid,
        numbers=result.numbers,
        rejected=result.rejected_count,
        suppressed_contacts=result.suppressed_contacts,
        replaces=replaces,
    )
    log.info(
        "dnc_imported",
        dnc_list_id=result.list_id,
        numbers=result.numbers,
        rejected=result.rejected_count,
        suppressed_contacts=result.suppressed_contacts,
    )


async def remove_list(
    conn: asyncpg.Connection, list_id: int, *, actor: str, reason: str
) -> None:
    """Stop a whole list suppressing (kept, marked removed), audited."""
    if not reason.strip():
        raise DncError("removing a do-not-call list needs a reason")
    async with conn.transaction():
        done = await conn.execute(
            "UPDATE dnc_lists SET removed_at = now(), removed_by = $2,"
            " removal_reason = $3 WHERE id = $1 AND removed_at IS NULL",
            list_id,
            actor,
            reason.strip(),
        )
        if done.endswith(" 0"):
            raise DncError(f"no live do-not-call list with id {list_id}")
        await audit(conn, actor, "dnc_list_removed", "dnc_list", list_id, reason=reason)


async def list_lists(conn: asyncpg.Connection | asyncpg.Pool) -> list[asyncpg.Record]:
    """Every list ever imported, newest first."""
    return await conn.fetch("SELECT * FROM dnc_lists ORDER BY id DESC")


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
