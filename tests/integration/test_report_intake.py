"""
Contact files received encrypted: AES-256 zip and AES-GCM through the intake
front-end into the campaigns importer, with the original archived as received.
"""

import hashlib
from pathlib import Path

import asyncpg
import pytest

from engine.reports.crypto import decrypt_gcm, encrypt_gcm, read_aes_zip, write_aes_zip
from engine.reports.exceptions import DecryptionError
from engine.reports.intake import import_protected

CSV = (
    b"phone,name,card_no\n"
    b"13800000001,Wang Fang,6222020200112233445\n"
    b"not-a-number,Li Wei,\n"
    b"+86 138 0000 0002,Zhang Min,\n"
)
PASSWORD = "bank-shared-secret"


@pytest.fixture
async def campaign(pool: asyncpg.Pool) -> int:
    """A draft campaign to import into."""
    return await pool.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id) VALUES ('Intake', 'collections',"
        " '+8610950000') RETURNING id"
    )


async def test_intake_aes_zip_imports_and_archives_original(
    pool: asyncpg.Pool, campaign: int, tmp_path: Path
) -> None:
    source = tmp_path / "list.zip"
    write_aes_zip(source, {"list.csv": CSV}, PASSWORD)
    outcome = await import_protected(
        pool,
        "Intake",
        source,
        password=PASSWORD,
        archive_root=tmp_path / "archive",
        actor="root",
    )
    phones = await pool.fetch("SELECT phone FROM contacts ORDER BY phone")
    archive = await pool.fetchrow("SELECT * FROM import_archives")
    errors = read_aes_zip(outcome.result.errors_path.read_bytes(), PASSWORD)

    assert outcome.encryption == "zip-aes"
    assert (outcome.result.loaded, outcome.result.bad_count) == (2, 1)
    assert [r["phone"] for r in phones] == ["+8613800000001", "+8613800000002"]
    assert outcome.archive_path.read_bytes() == source.read_bytes()
    assert archive["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert (archive["campaign_id"], archive["encryption"]) == (campaign, "zip-aes")
    assert outcome.result.errors_path.name == "list.zip.errors.zip"
    assert "not-a-number" in errors["errors.csv"].decode("utf-8-sig")
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'import_archived'"
        )
        == 1
    )


async def test_intake_aes_gcm_imports(
    pool: asyncpg.Pool, campaign: int, tmp_path: Path
) -> None:
    source = tmp_path / "list.csv.gcm"
    source.write_bytes(encrypt_gcm(CSV, PASSWORD))
    outcome = await import_protected(
        pool, campaign, source, password=PASSWORD, archive_root=tmp_path / "a"
    )

    assert outcome.encryption == "aes-gcm"
    assert outcome.result.loaded == 2
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 2


async def test_intake_wrong_password_loads_and_archives_nothing(
    pool: asyncpg.Pool, campaign: int, tmp_path: Path
) -> None:
    source = tmp_path / "list.zip"
    write_aes_zip(source, {"list.csv": CSV}, PASSWORD)
    with pytest.raises(DecryptionError, match="wrong password"):
        await import_protected(
            pool, campaign, source, password="not-the-password", archive_root=tmp_path
        )

    assert await pool.fetchval("SELECT count(*) FROM contacts") == 0
    assert await pool.fetchval("SELECT count(*) FROM import_archives") == 0


async def test_intake_encrypted_without_password_refused(
    pool: asyncpg.Pool, campaign: int, tmp_path: Path
) -> None:
    source = tmp_path / "list.gcm"
    source.write_bytes(encrypt_gcm(CSV, PASSWORD))
    with pytest.raises(
        DecryptionError, match="aes-gcm encrypted: a password is needed"
    ):
        await import_protected(
            pool, campaign, source, password=None, archive_root=tmp_path
        )


async def test_intake_plain_csv_archived_as_is(
    pool: asyncpg.Pool, campaign: int, tmp_path: Path
) -> None:
    source = tmp_path / "plain.csv"
    source.write_bytes(CSV)
    outcome = await import_protected(
        pool, campaign, source, password=None, archive_root=tmp_path / "a"
    )

    assert outcome.encryption == "none"
    assert outcome.archive_path.read_bytes() == CSV
    assert outcome.result.errors_path == tmp_path / "plain.csv.errors.csv"


def test_gcm_altered_byte_refused() -> None:
    sealed = bytearray(encrypt_gcm(b"phone\n13800000001\n", PASSWORD))
    sealed[-1] ^= 1

    assert decrypt_gcm(encrypt_gcm(b"x", PASSWORD), PASSWORD) == b"x"
    with pytest.raises(DecryptionError, match="altered"):
        decrypt_gcm(bytes(sealed), PASSWORD)
