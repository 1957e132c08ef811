"""
Reading a contact CSV: its encoding, its header, and its rows as contacts.

Spreadsheets in China save CSV as UTF-8 with a BOM, plain UTF-8, or GBK. In
"auto" mode a BOM means UTF-8; otherwise the whole file is run through an
incremental UTF-8 decoder (cheap: nothing is kept) and, if that fails, it is
read as GB18030, the superset of GBK that also decodes what GBK cannot.

Rows come out in batches ready for COPY; a bad row is handed to a callback
with its line number and reason and never stops the rows after it.
"""

import codecs
import csv
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson

from engine.campaigns.exceptions import ImportFileError, InvalidPhoneError
from engine.campaigns.phones import normalise

ENCODINGS = ("auto", "utf-8", "gbk")
PHONE_ALIASES = ("phone", "mobile", "手机", "手机号", "手机号码", "电话", "电话号码")
NAME_ALIASES = ("name", "姓名", "客户姓名")
TIMEZONE_ALIASES = ("timezone", "time_zone", "时区")
_CHUNK = 1 << 20

# (source_line, phone, name, timezone, fields as JSON text)
Record = tuple[int, str, str | None, str | None, str]
BadRowSink = Callable[[int, str, Sequence[str]], None]


def detect_encoding(path: Path, requested: str = "auto") -> str:
    """The codec to read ``path`` with, for "auto", "utf-8" or "gbk"."""
    requested = requested.lower().replace("_", "-")
    if requested in ("utf-8", "utf8"):
        return "utf-8-sig"
    if requested in ("gbk", "gb2312", "gb18030"):
        return "gb18030"
    if requested != "auto":
        raise ImportFileError(f"unknown encoding {requested!r}; use auto, utf-8 or gbk")
    with path.open("rb") as f:
        if f.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"

    return "utf-8"


@dataclass(frozen=True)
class Columns:
    """Where the phone, name and time zone are in each row; the rest are fields."""

    header: tuple[str, ...]
    phone: int
    name: int | None
    timezone: int | None
    others: tuple[tuple[int, str], ...]

    @classmethod
    def resolve(
        cls,
        header: Sequence[str],
        phone: str | None = None,
        name: str | None = None,
        timezone: str | None = None,
    ) -> "Columns":
        """Find the named columns (case-insensitive; known aliases if unnamed)."""
        clean = tuple(h.strip().lstrip("\ufeff") for h in header)
        lookup: dict[str, int] = {}
        for i, h in enumerate(clean):
            lookup.setdefault(h.lower(), i)  # a repeated header: the first one counts
        phone_at = _find(lookup, phone, PHONE_ALIASES)
        if phone_at is None:
            looked = repr(phone) if phone else "any of " + ", ".join(PHONE_ALIASES)
            raise ImportFileError(
                f"no phone column in the header: looked for {looked};"
                f" columns: {', '.join(clean) or 'none'} (use --phone-column)"
            )
        name_at = _find(lookup, name, NAME_ALIASES, required=name is not None)
        tz_at = _find(lookup, timezone, TIMEZONE_ALIASES, required=timezone is not None)
        used = {phone_at, name_at, tz_at}
        others = tuple((i, h) for i, h in enumerate(clean) if i not in used)

        return cls(clean, phone_at, name_at, tz_at, others)


def _find(
    lookup: dict[str, int],
    given: str | None,
    aliases: Sequence[str],
    *,
    required: bool = False,
) -> int | None:
    if given is not None:
        found = lookup.get(given.strip().lower())
        if found is None and required:
            raise ImportFileError(
                f"no column {given!r} in the header (columns: {', '.join(lookup)})"
            )
        return found
    for alias in aliases:
        if alias in lookup:
            return lookup[alias]

    return None


class ContactReader:
    """Turns the rows of an open CSV file into COPY-ready records."""

    def __init__(
        self,
        rows: Iterator[list[str]],
        line_of: Callable[[], int],
        columns: Columns,
        region: str,
        on_bad: BadRowSink,
        existing: set[int] | None = None,
    ) -> None:
        self.rows_read = 0
        self.duplicates = 0
        self.existing = 0
        self.bad = 0
        self._rows = rows
        self._line_of = line_of
        self._columns = columns
        self._region = region
        self._on_bad = on_bad
        self._seen: set[int] = set()
        self._existing = existing or set()
        self._zones = zoneinfo.available_timezones()

    def batches(self, size: int = 50_000) -> Iterator[list[Record]]:
        """
        The good rows, ``size`` at a time, without repeats of an earlier row or
        of a number in ``existing`` (phones as integers, without the "+").
        """
        batch: list[Record] = []
        for row in self._rows:
            record = self._record(row)
            if record is not None:
                batch.append(record)
                if len(batch) >= size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def _record(self, row: list[str]) -> Record | None:
        if not any(row):
            return None
        self.rows_read += 1
        line, cols = self._line_of(), self._columns
        try:
            phone = self._phone(row)
            zone = self._timezone(row)
        except _BadRow as exc:
            self.bad += 1
            self._on_bad(line, str(exc), row)
            return None
        key = int(phone[1:])
        if key in self._seen:
            self.duplicates += 1
            return None
        if key in self._existing:
            self.existing += 1
            self._seen.add(key)
            return None
        self._seen.add(key)
        fields = orjson.dumps({h: row[i] for i, h in cols.others}).decode()
        name = (row[cols.name].strip() or None) if cols.name is not None else None

        return (line, phone, name, zone, fields)

    def _phone(self, row: list[str]) -> str:
        cols = self._columns
        if len(row) != len(cols.header):
            raise _BadRow(f"expected {len(cols.header)} columns, found {len(row)}")
        raw = row[cols.phone]
        if not raw.strip():
            raise _BadRow(f"no phone number in column {cols.header[cols.phone]!r}")
        try:
            return normalise(raw, self._region)
        except InvalidPhoneError as exc:
            raise _BadRow(f"invalid phone number {raw!r}: {exc.reason}") from None

    def _timezone(self, row: list[str]) -> str | None:
        if self._columns.timezone is None:
            return None
        value = row[self._columns.timezone].strip()
        if value and value not in self._zones:
            raise _BadRow(f"unknown time zone {value!r}")

        return value or None


class _BadRow(Exception):
    """Why one row cannot be loaded."""


@contextmanager
def read_csv(path: Path, encoding: str) -> Iterator[tuple[list[str], "csv._reader"]]:
    """The header and a reader over the remaining rows of ``path``."""
    with path.open(encoding=encoding, newline="", errors="strict") as f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{path.name} is not {encoding}: {exc.reason}"
            ) from None
        if header is None:
            raise ImportFileError(f"{path.name} is empty: no header row")
        yield header, reader
