"""
Encrypted files as banks exchange them: AES-256 zips and AES-GCM files.

AES zips follow the WinZip AE-2 scheme (pyzipper), which 7-Zip and most
archivers open with the password. An AES-GCM file is this project's own
envelope: ``ODGCM1`` magic, a 16-byte scrypt salt, a 12-byte nonce, then the
ciphertext with its 16-byte tag; the key is derived from the password with
scrypt (n=2**15, r=8, p=1), and the magic is authenticated as associated data.
"""

import io
import os
from pathlib import Path

import pyzipper
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from engine.reports.exceptions import DecryptionError, ExportError

GCM_MAGIC = b"ODGCM1"
_SALT_LEN = 16
_NONCE_LEN = 12
MIN_PASSWORD_LENGTH = 8


def _check_password(password: str) -> bytes:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ExportError(f"password shorter than {MIN_PASSWORD_LENGTH} characters")
    return password.encode("utf-8")


def write_aes_zip(path: Path, members: dict[str, bytes], password: str) -> None:
    """Write members into an AES-256 encrypted zip file at path."""
    secret = _check_password(password)
    with pyzipper.AESZipFile(
        path, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(secret)
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        for name, content in members.items():
            archive.writestr(name, content)


def read_aes_zip(content: bytes, password: str) -> dict[str, bytes]:
    """The members of an encrypted (or plain) zip file, decrypted."""
    try:
        with pyzipper.AESZipFile(io.BytesIO(content)) as archive:
            archive.setpassword(password.encode("utf-8"))
            return {
                info.filename: archive.read(info.filename)
                for info in archive.infolist()
                if not info.is_dir()
            }
    except RuntimeError as exc:
        raise DecryptionError("wrong password for the zip file") from exc
    except (pyzipper.BadZipFile, ValueError) as exc:
        raise DecryptionError(f"damaged zip file: {exc}") from exc


def _derive_key(password: str, salt: bytes) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1)
    return kdf.derive(password.encode("utf-8"))


def encrypt_gcm(plain: bytes, password: str) -> bytes:
    """Encrypt bytes into an AES-256-GCM envelope under a password."""
    _check_password(password)
    salt, nonce = os.urandom(_SALT_LEN), os.urandom(_NONCE_LEN)
    sealed = AESGCM(_derive_key(password, salt)).encrypt(nonce, plain, GCM_MAGIC)

    return GCM_MAGIC + salt + nonce + sealed


def decrypt_gcm(content: bytes, password: str) -> bytes:
    """Open an AES-256-GCM envelope; a wrong password or any change fails."""
    head = len(GCM_MAGIC) + _SALT_LEN + _NONCE_LEN
    if not content.startswith(GCM_MAGIC) or len(content) < head + 16:
        raise DecryptionError("not an AES-GCM file from outdial (bad header)")
    salt = content[len(GCM_MAGIC) : len(GCM_MAGIC) + _SALT_LEN]
    nonce = content[len(GCM_MAGIC) + _SALT_LEN : head]
    try:
        return AESGCM(_derive_key(password, salt)).decrypt(
            nonce, content[head:], GCM_MAGIC
        )
    except InvalidTag as exc:
        raise DecryptionError("wrong password or altered AES-GCM file") from exc


def is_zip(content: bytes) -> bool:
    """Whether bytes look like a zip file."""
    return content[:4] == b"PK\x03\x04"


def is_gcm(content: bytes) -> bool:
    """Whether bytes look like an AES-GCM envelope."""
    return content.startswith(GCM_MAGIC)
