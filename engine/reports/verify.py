"""
Re-hashing the recordings archive: every archived file must still be there,
byte for byte as it was when archived.

Rows in state ``archived`` are read in archive-number order with a cursor, so
a large archive is never held in memory; each file is hashed in a worker
thread in 1 MiB chunks. A file whose size or SHA-256 differs from its row is
*altered*, one that cannot be read is *missing*; files under the archive root
that no row names are *unexpected* (a copy left behind, or planted).
"""

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import structlog

from engine.db.audit import audit

log = structlog.get_logger(__name__)

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One recording whose file is missing or altered."""

    recording_id: int
    path: str
    kind: str
    detail: str


@dataclass
class VerifyResult:
    """What a verify run found."""

    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every file was present and unchanged."""
        return not self.problems and not self.unexpected

    def count(self, kind: str) -> int:
        """How many problems of one kind (missing or altered)."""
        return sum(1 for p in self.problems if p.kind == kind)


def resolve(archive_path: str, base: Path) -> Path:
    """A stored archive path as a file path (relative ones from base)."""
    path = Path(archive_path)
    return path if path.is_absolute() else base / path


def hash_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _files_under(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in root.rglob("*") if p.is_file()]


async def _check(row: asyncpg.Record, base: Path) -> Problem | None:
    path = resolve(row["archive_path"], base)
    try:
        digest, size = await asyncio.to_thread(hash_file, path)
    except OSError as exc:
        return Problem(row["id"], str(path), "missing", exc.strerror or str(exc))
    if digest != row["sha256"] or (
        row["size_bytes"] is not None and size != row["size_bytes"]
    ):
        detail = f"sha256 {digest[:12]}… size {size}, expected {row['sha256'][:12]}…"
        return Problem(row["id"], str(path), "altered", detail)
    return None


async def verify_archive(
    conn: asyncpg.Connection,
    base: Path,
    *,
    root: Path | None = None,
    actor: str = "system:verify",
) -> VerifyResult:
    """Re-hash every archived recording; list unexpected files under root."""
    result = VerifyResult()
    known = await _check_archived(conn, base, result)
    if root is not None:
        result.unexpected = await asyncio.to_thread(_unexpected_files, root, known)
    await _record(conn, actor, result)

    return result


async def _check_archived(
    conn: asyncpg.Connection, base: Path, result: VerifyResult
) -> set[Path]:
    """Check each archived recording into ``result``; the paths they live at."""
    known: set[Path] = set()
    async with conn.transaction():
        cursor = conn.cursor(
            "SELECT id, archive_path, sha256, size_bytes FROM recordings"
            " WHERE state = 'archived' ORDER BY id"
        )
        async for row in cursor:
            result.checked += 1
            known.add(resolve(row["archive_path"], base).resolve())
            problem = await _check(row, base)
            if problem is not None:
                result.problems.append(problem)

    return known


def _unexpected_files(root: Path, known: set[Path]) -> list[str]:
    """Files under root no archived recording accounts for (dot files aside)."""
    return sorted(
        str(p)
        for p in _files_under(root)
        if p.resolve() not in known and not p.name.startswith(".")
    )


async def _record(conn: asyncpg.Connection, actor: str, result: VerifyResult) -> None:
    """Audit the check and log its one summary line."""
    counts = {
        "checked": result.checked,
        "missing": result.count("missing"),
        "altered": result.count("altered"),
        "unexpected": len(result.unexpected),
    }
    await audit(conn, actor, "recordings_verified", "recordings", None, **counts)
    log.info("recordings_verified", **counts)
