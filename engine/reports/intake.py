"""
Importing contact lists that arrive encrypted, and archiving every original.

A bank sends a contact list as a plain CSV, an AES-256 zip holding one CSV, or
an AES-GCM envelope (``engine.reports.crypto``). This front-end recognises the
form from the file's first bytes, archives the original exactly as received
(an encrypted one stays encrypted) under ``settings.import_archive_dir`` with
its SHA-256 in ``import_archives``, decrypts into a private temporary directory
(mode 0700, removed afterwards) and hands the plain CSV to
``engine.campaigns.importer.import_contacts``. The importer's report of bad
rows holds customer data, so for an encrypted input it is written back as an
AES-256 zip under the same password.
"""

import asyncio
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from engine.campaigns.importer import ImportResult, import_contacts
from engine.db.audit import audit
from engine.files import write_durably
from engine.reports.crypto import (
    decrypt_gcm,
    is_gcm,
    is_zip,
    read_aes_zip,
    write_aes_zip,
)
from engine.reports.exceptions import DecryptionError
from engine.reports.stats import load_campaign

log = structlog.get_logger(__name__)


@dataclass
class IntakeResult:
    """An import through the front-end: the archived original and the import."""

    archive_id: int
    archive_path: Path
    sha256: str
    encryption: str
    result: ImportResult


def encryption_of(content: bytes) -> str:
    """The form a received file is in: 'zip-aes', 'aes-gcm' or 'none'."""
    if is_zip(content):
        return "zip-aes"
    if is_gcm(content):
        return "aes-gcm"
    return "none"


def plain_csv(content: bytes, encryption: str, password: str | None) -> bytes:
    """The CSV inside a received file."""
    if encryption == "none":
        return content
    if password is None:
        raise DecryptionError(
            f"the file is {encryption} encrypted: a password is needed"
        )
    if encryption == "aes-gcm":
        return decrypt_gcm(content, password)
    members = read_aes_zip(content, password)
    if len(members) != 1:
        names = ", ".join(sorted(members)) or "nothing"
        raise DecryptionError(
            f"the zip must hold exactly one csv file, it holds: {names}"
        )

    return next(iter(members.values()))


def _store_original(content: bytes, source: Path, root: Path, sha: str) -> Path:
    day = datetime.now(UTC)
    target = (
        root / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / f"{sha[:16]}-{source.name}"
    )
    write_durably(target, content)

    return target


async def archive_original(
    conn: asyncpg.Connection | asyncpg.Pool,
    campaign_id: int | None,
    source: Path,
    content: bytes,
    encryption: str,
    root: Path,
    actor: str,
) -> tuple[int, Path, str]:
    """Keep a received file as it came; return its archive id, path and hash."""
    sha = hashlib.sha256(content).hexdigest()
    path = await asyncio.to_thread(_store_original, content, source, root, sha)
    archive_id = await conn.fetchval(
        "INSERT INTO import_archives (campaign_id, original_name, archive_path, sha256,"
        " size_bytes, encryption, imported_by) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " RETURNING id",
        campaign_id,
        source.name,
        str(path),
        sha,
        len(content),
        encryption,
        actor,
    )
    await audit(
        conn,
        actor,
        "import_archived",
        "import_archive",
        archive_id,
        campaign_id=campaign_id,
        sha256=sha,
        encryption=encryption,
    )

    return archive_id, path, sha


async def import_protected(
    pool: asyncpg.Pool,
    campaign: str | int,
    source: Path,
    *,
    password: str | None,
    archive_root: Path,
    actor: str = "system",
    **import_options: Any,
) -> IntakeResult:
    """Archive a received contact file, decrypt it if needed, import it."""
    content = await asyncio.to_thread(source.read_bytes)
    encryption = encryption_of(content)
    plain = await asyncio.to_thread(plain_csv, content, encryption, password)
    camp = await load_campaign(pool, campaign)
    archive_id, archived, sha = await archive_original(
        pool, camp["id"], source, content, encryption, archive_root, actor
    )
    secret = password if encryption != "none" else None
    result = await _import_plain(
        pool, camp["id"], source, plain, secret, actor, import_options
    )
    log.info(
        "contacts_imported_from_archive",
        archive_id=archive_id,
        encryption=encryption,
        loaded=result.loaded,
        bad=result.bad_count,
    )

    return IntakeResult(archive_id, archived, sha, encryption, result)


async def _import_plain(
    pool: asyncpg.Pool,
    campaign_id: int,
    source: Path,
    plain: bytes,
    secret: str | None,
    actor: str,
    options: dict[str, Any],
) -> ImportResult:
    """Import the plain CSV from a private directory that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="outdial-intake-") as tmp:
        os.chmod(tmp, 0o700)
        csv_path = _write_private(Path(tmp), source, plain)
        result = await import_contacts(
            pool,
            campaign_id,
            csv_path,
            actor=actor,
            errors_path=Path(tmp) / "errors.csv",
            **options,
        )
        result.path = source
        if result.errors_path is not None:
            result.errors_path = await asyncio.to_thread(
                _keep_errors, result.errors_path, source, secret
            )

    return result


def _write_private(directory: Path, source: Path, plain: bytes) -> Path:
    """Write the decrypted CSV readable by its owner only; its path."""
    csv_path = directory / (source.stem.removesuffix(".csv") + ".csv")
    fd = os.open(csv_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(plain)

    return csv_path


def _keep_errors(report: Path, source: Path, password: str | None) -> Path:
    """Move the bad-row report beside the source, encrypted if the source was."""
    if password is None:
        target = source.with_name(source.name + ".errors.csv")
        shutil.copyfile(report, target)
        return target
    target = source.with_name(source.name + ".errors.zip")
    write_aes_zip(target, {"errors.csv": report.read_bytes()}, password)

    return target
