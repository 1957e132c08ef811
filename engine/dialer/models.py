"""
The rows the dialer works with, as typed, immutable values.

Gates (``DialGate``) and capacity providers receive these, so compliance and
operators code reads ``campaign.timezone`` or ``contact.phone`` without knowing
how the dialer queried them.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class Campaign:
    """A campaign as the dialer needs it (see ``campaigns`` in 0001_core.sql)."""

    id: int
    name: str
    kind: str
    caller_id: str
    state: str
    max_concurrent: int
    calls_per_second: float
    ring_timeout_s: int
    max_attempts: int
    retry_delays: dict[str, Any]
    timezone: str
    default_region: str
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> "Campaign":
        """Build from a ``campaigns`` row."""
        return cls(
            id=row["id"],
            name=row["name"],
            kind=row["kind"],
            caller_id=row["caller_id"],
            state=row["state"],
            max_concurrent=row["max_concurrent"],
            calls_per_second=float(row["calls_per_second"]),
            ring_timeout_s=row["ring_timeout_s"],
            max_attempts=row["max_attempts"],
            retry_delays=dict(row["retry_delays"] or {}),
            timezone=row["timezone"],
            default_region=row["default_region"],
            settings=dict(row["settings"] or {}),
        )


@dataclass(frozen=True)
class Contact:
    """A contact leased for dialling (see ``contacts`` in 0001_core.sql)."""

    id: int
    campaign_id: int
    phone: str
    name: str | None
    timezone: str | None
    fields: dict[str, Any]
    attempts: int
    next_attempt_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> "Contact":
        """Build from a ``contacts`` row."""
        return cls(
            id=row["id"],
            campaign_id=row["campaign_id"],
            phone=row["phone"],
            name=row["name"],
            timezone=row["timezone"],
            fields=dict(row["fields"] or {}),
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
        )


@dataclass(frozen=True)
class OpenAttempt:
    """A call attempt not yet ended, as recovery finds it in Postgres."""

    id: str
    campaign_id: int
    contact_id: int
    attempt_no: int
    phone: str
    state: str
    dialstatus: str | None
    bridge_id: str | None
    answered_at: datetime | None
    engine_id: str

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> "OpenAttempt":
        """Build from a ``call_attempts`` row."""
        return cls(
            id=row["id"],
            campaign_id=row["campaign_id"],
            contact_id=row["contact_id"],
            attempt_no=row["attempt_no"],
            phone=row["phone"],
            state=row["state"],
            dialstatus=row["dialstatus"],
            bridge_id=row["bridge_id"],
            answered_at=row["answered_at"],
            engine_id=row["engine_id"],
        )


@dataclass(frozen=True)
class PendingRecording:
    """A finished recording waiting to be fetched into the archive."""

    id: int
    attempt_id: str
    campaign_id: int
    name: str
    format: str
    fetch_attempts: int
    started_at: datetime
