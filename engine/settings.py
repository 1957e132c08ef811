"""
Engine settings, read from ``OUTDIAL_*`` environment variables or an env file.

Every field is documented in ``config/outdial.example.env``. Secrets are
``SecretStr`` so that they print as ``**********`` wherever a setting is shown.
"""

import os
import socket
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_engine_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    """All the knobs of one engine process."""

    model_config = SettingsConfigDict(
        env_prefix="OUTDIAL_",
        env_file=os.environ.get("OUTDIAL_ENV_FILE", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # Postgres. Unset means: start the embedded server under data_dir.
    database_url: SecretStr | None = None
    data_dir: Path = Path.home() / ".outdial"
    db_pool_min: int = Field(default=2, ge=1)
    db_pool_max: int = Field(default=10, ge=1)

    # ARI
    ari_url: str = "http://127.0.0.1:8088"
    ari_username: str = "outdial"
    ari_password: SecretStr = SecretStr("outdial")
    ari_app: str = "outdial"
    dial_template: str = "PJSIP/{number}@trunk"

    # This process
    engine_id: str = Field(default_factory=_default_engine_id)
    lease_seconds: int = Field(default=90, ge=10)
    recordings_dir: Path = Path("recordings")
    # Original contact files as received (encrypted or not), kept as evidence
    import_archive_dir: Path = Path("imports")
    max_calls: int = Field(default=200, ge=1)
    answer_media: str = "sound:hello-world"
    drain_seconds: float = Field(default=60.0, ge=0)

    # Contact data
    default_region: str = "CN"

    # The institution, as customers hear it
    institution_name: str = "Example Bank"
    callback_number: str = "95555"

    # Web app (operator desktop, live board)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    web_behind_tls: bool = False
    web_session_idle_minutes: int = Field(default=30, ge=1)
    web_session_max_hours: int = Field(default=12, ge=1)
    web_max_body_bytes: int = Field(default=65536, ge=1024)

    # Operators: accounts, softphone sessions, bridging
    password_max_age_days: int = Field(default=90, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    operator_answer_timeout_s: float = Field(default=2.0, gt=0)
    operator_ring_timeout_s: int = Field(default=20, ge=1)
    operator_wrap_up_s: float = Field(default=30.0, ge=0)
    operator_ratio: float = Field(default=1.0, gt=0)
    apology_media: str = "sound:outdial-apology"

    # Compliance: calling windows per kind (JSON, or "@path" to a JSON file;
    # unset kinds keep the defaults in engine/compliance/windows.py), daily
    # attempt cap per contact, minimum gap between calls to one number
    calling_windows: str | None = None
    max_attempts_per_day: int = Field(default=2, ge=1)
    min_call_gap_s: int = Field(default=300, ge=0)

    # Logging: "auto" is console on a terminal, JSON lines elsewhere
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
