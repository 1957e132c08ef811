"""
``outdial intake``: import a contact file as banks send it (plain CSV, AES-256
zip or AES-GCM), archiving the original; ``outdial secure-file`` makes and
opens AES-GCM files.
"""

import os
from collections.abc import Callable
from pathlib import Path

import click

from engine.cli.common import database, run, secret_from_env, setup
from engine.exceptions import EngineError
from engine.reports.crypto import decrypt_gcm, encrypt_gcm
from engine.reports.intake import IntakeResult, import_protected
from engine.settings import Settings


def _secret(password_env: str | None) -> str | None:
    return None if password_env is None else secret_from_env(password_env)


@click.command()
@click.argument("campaign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--password-env", help="Variable holding the file's password.")
@click.option("--region", help="Region for numbers without a country code.")
@click.option("--actor", envvar="OUTDIAL_ACTOR", required=True, help="Your account.")
def intake(
    campaign: str, file: Path, password_env: str | None, region: str | None, actor: str
) -> None:
    """Archive FILE as received, decrypt it if needed, import it into CAMPAIGN."""
    settings = setup()
    password = _secret(password_env)
    outcome = run(_intake(settings, campaign, file, password, region, actor))
    result = outcome.result
    click.echo(
        f"archived #{outcome.archive_id} ({outcome.encryption}, sha256 "
        f"{outcome.sha256[:16]}…) at {outcome.archive_path}"
    )
    click.echo(
        f"loaded {result.loaded} of {result.rows_read} rows; {result.duplicates} "
        f"duplicates; {result.bad_count} bad"
    )
    if result.errors_path is not None:
        click.echo(f"bad rows: {result.errors_path}")


async def _intake(
    settings: Settings,
    campaign: str,
    file: Path,
    password: str | None,
    region: str | None,
    actor: str,
) -> IntakeResult:
    async with database(settings) as pool:
        return await import_protected(
            pool,
            campaign,
            file,
            password=password,
            archive_root=settings.import_archive_dir,
            actor=actor,
            region=region,
        )


@click.group("secure-file")
def secure_file() -> None:
    """AES-256-GCM files under a password (the envelope intake reads)."""


@secure_file.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--password-env", required=True, help="Variable holding the password.")
def encrypt(source: Path, target: Path, password_env: str) -> None:
    """Encrypt SOURCE into TARGET."""
    password = secret_from_env(password_env)
    target.write_bytes(_crypt(encrypt_gcm, source.read_bytes(), password))
    click.echo(f"wrote {target}")


@secure_file.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--password-env", required=True, help="Variable holding the password.")
def decrypt(source: Path, target: Path, password_env: str) -> None:
    """Decrypt SOURCE into TARGET (created readable by its owner only)."""
    password = secret_from_env(password_env)
    plain = _crypt(decrypt_gcm, source.read_bytes(), password)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(plain)
    click.echo(f"wrote {target}")


def _crypt(func: Callable[[bytes, str], bytes], content: bytes, password: str) -> bytes:
    """Run a crypto function, its refusals shown as CLI errors."""
    try:
        return func(content, password)
    except EngineError as exc:
        raise click.ClickException(str(exc)) from exc


COMMANDS = [intake, secure_file]
