"""
Campaigns as values: their settings, their states and the moves between them.

A campaign starts as a draft, runs, may be paused and resumed, and ends either
stopped by a director or finished by the dialer when no contact is left.

    draft ──start──▶ running ◀──resume── paused
      │                 │ └───pause────────▲ │
      │                 └──finish──▶ finished │
      └────stop────▶ stopped ◀───stop─────────┘   (stop also from running)
"""

import json
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import phonenumbers

from engine.campaigns.exceptions import InvalidCampaignError
from engine.campaigns.kinds import CallKind, parse_kind


class CampaignState(StrEnum):
    """Where a campaign is in its life."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"


# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[CampaignState], CampaignState]] = {
    "start": (frozenset({CampaignState.DRAFT}), CampaignState.RUNNING),
    "pause": (frozenset({CampaignState.RUNNING}), CampaignState.PAUSED),
    "resume": (frozenset({CampaignState.PAUSED}), CampaignState.RUNNING),
    "stop": (
        frozenset({CampaignState.DRAFT, CampaignState.RUNNING, CampaignState.PAUSED}),
        CampaignState.STOPPED,
    ),
    "finish": (frozenset({CampaignState.RUNNING}), CampaignState.FINISHED),
}

# Outcomes of a call attempt (call_attempts.outcome) that may be retried.
RETRYABLE_OUTCOMES: tuple[str, ...] = (
    "busy",
    "no_answer",
    "rejected",
    "congestion",
    "failed",
    "unreachable",
    "abandoned",
)
DEFAULT_RETRY_DELAYS: dict[str, int] = {
    "busy": 300,
    "no_answer": 1800,
    "congestion": 600,
    "failed": 3600,
}
_CALLER_ID_RE = re.compile(r"^\+?[0-9]{3,20}$")


@dataclass(frozen=True)
class RetryPolicy:
    """How often a contact is tried, and how long to wait after each outcome."""

    max_attempts: int = 3
    delays: Mapping[str, int] = field(
        default_factory=lambda: dict(DEFAULT_RETRY_DELAYS)
    )

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 50:
            raise InvalidCampaignError("max attempts must be between 1 and 50")
        for outcome, delay in self.delays.items():
            if outcome not in RETRYABLE_OUTCOMES:
                raise InvalidCampaignError(
                    f"cannot retry on outcome {outcome!r}; retryable outcomes:"
                    f" {', '.join(RETRYABLE_OUTCOMES)}"
                )
            if not isinstance(delay, int) or not 0 <= delay <= 30 * 86400:
                raise InvalidCampaignError(
                    f"retry delay for {outcome} must be 0 to 2592000 seconds"
                )

    def delay_after(self, outcome: str) -> int | None:
        """Seconds to wait before retrying after ``outcome``; None means final."""
        return self.delays.get(outcome)


@dataclass(frozen=True)
class CampaignSpec:
    """What a director asks for when creating a campaign; validated on creation."""

    name: str
    kind: CallKind | str
    caller_id: str
    max_concurrent: int = 10
    calls_per_second: Decimal | float = Decimal(5)
    ring_timeout_s: int = 30
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timezone: str = "Asia/Shanghai"
    default_region: str = "CN"
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.strip())
        object.__setattr__(self, "kind", parse_kind(str(self.kind)))
        object.__setattr__(self, "default_region", self.default_region.upper())
        object.__setattr__(
            self, "calls_per_second", Decimal(str(self.calls_per_second))
        )
        _check_spec(self)


def _check_spec(spec: CampaignSpec) -> None:
    if not 1 <= len(spec.name) <= 200:
        raise InvalidCampaignError("campaign name must be 1 to 200 characters")
    if not _CALLER_ID_RE.match(spec.caller_id):
        raise InvalidCampaignError(
            f"caller id {spec.caller_id!r} is not a number (3 to 20 digits, optional +)"
        )
    if not 1 <= spec.max_concurrent <= 10000:
        raise InvalidCampaignError("max concurrent calls must be 1 to 10000")
    cps = Decimal(spec.calls_per_second)
    if not cps.is_finite() or not Decimal("0.001") <= cps <= 1000:
        raise InvalidCampaignError("calls per second must be 0.001 to 1000")
    if not 5 <= spec.ring_timeout_s <= 300:
        raise InvalidCampaignError("ring timeout must be 5 to 300 seconds")
    check_timezone(spec.timezone)
    if spec.default_region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidCampaignError(
            f"unknown region {spec.default_region!r} (use a code such as CN, HK)"
        )


def check_timezone(name: str) -> str:
    """Return ``name`` if it is an IANA time zone, else raise."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidCampaignError(f"unknown time zone {name!r}") from None

    return name


@dataclass(frozen=True)
class Campaign:
    """A campaign as stored in Postgres."""

    id: int
    name: str
    kind: CallKind
    caller_id: str
    state: CampaignState
    state_reason: str | None
    max_concurrent: int
    calls_per_second: Decimal
    ring_timeout_s: int
    retry: RetryPolicy
    timezone: str
    default_region: str
    settings: Mapping[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def active(self) -> bool:
        """True while the dialer should place new calls for it."""
        return self.state is CampaignState.RUNNING

    @property
    def ended(self) -> bool:
        """True once no state change can bring it back."""
        return self.state in (CampaignState.STOPPED, CampaignState.FINISHED)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Campaign":
        """Build from a ``campaigns`` row (the pool decodes jsonb already)."""
        return cls(
            id=row["id"],
            name=row["name"],
            kind=CallKind(row["kind"]),
            caller_id=row["caller_id"],
            state=CampaignState(row["state"]),
            state_reason=row["state_reason"],
            max_concurrent=row["max_concurrent"],
            calls_per_second=row["calls_per_second"],
            ring_timeout_s=row["ring_timeout_s"],
            retry=RetryPolicy(row["max_attempts"], _json(row["retry_delays"])),
            timezone=row["timezone"],
            default_region=row["default_region"],
            settings=_json(row["settings"]),
            created_by=row["created_by"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


def _json(value: Any) -> dict[str, Any]:
    """A jsonb value, decoded or not depending on the connection's codecs."""
    return dict(json.loads(value) if isinstance(value, str) else value)


@dataclass(frozen=True)
class Progress:
    """Where a campaign's contacts and calls stand right now."""

    campaign: Campaign
    contacts: Mapping[str, int]
    outcomes: Mapping[str, int]
    in_progress: int

    @property
    def total(self) -> int:
        """Number of contacts in the campaign."""
        return sum(self.contacts.values())

    @property
    def settled(self) -> int:
        """Contacts that will not be called again."""
        return sum(
            self.contacts.get(state, 0)
            for state in ("done", "exhausted", "suppressed", "cancelled")
        )
