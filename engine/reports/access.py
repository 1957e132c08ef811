"""
Who may see what: roles of the people reading reports, and the audit of reads.

Operators see only their own calls, recordings and statistics; directors see
their team's (every team when they have none); admins see everything but,
like operators, may not export customer data unmasked: only a director may,
and only with a stated reason, which is audited.
"""

from dataclasses import dataclass
from typing import Any

import asyncpg

from engine.db.audit import audit
from engine.reports.exceptions import AccessDeniedError
from engine.reports.stats import Scope

MIN_REASON_LENGTH = 10


@dataclass(frozen=True)
class Viewer:
    """A person reading reports: an operator, director or admin."""

    actor: str
    role: str
    team: str | None

    @property
    def scope(self) -> Scope:
        """The operators and teams whose calls this viewer may see."""
        if self.role == "operator":
            return Scope(operators=frozenset({self.actor}))
        if self.role == "director" and self.team is not None:
            return Scope(teams=frozenset({self.team}))
        return Scope()

    def may_see_operator(self, operator_id: str | None, team: str | None) -> bool:
        """Whether a call taken by this operator (of this team) is visible."""
        if self.role == "operator":
            return operator_id == self.actor
        if self.role == "director" and self.team is not None:
            return team == self.team
        return True


async def viewer(conn: asyncpg.Connection | asyncpg.Pool, actor: str) -> Viewer:
    """The viewer for an operator account, or an error if there is none."""
    row = await conn.fetchrow(
        "SELECT id, role, team, locked_at FROM operators WHERE id = $1", actor
    )
    if row is None:
        raise AccessDeniedError(actor, "read reports: no such account")
    if row["locked_at"] is not None:
        raise AccessDeniedError(actor, "read reports: account locked")

    return Viewer(row["id"], row["role"], row["team"])


def require_unmasked(who: Viewer, reason: str | None) -> str:
    """Check an unmasked export is allowed; return the cleaned reason."""
    if who.role != "director":
        raise AccessDeniedError(who.actor, "export unmasked customer data")
    cleaned = (reason or "").strip()
    if len(cleaned) < MIN_REASON_LENGTH:
        raise AccessDeniedError(
            who.actor,
            f"export unmasked data without a reason of {MIN_REASON_LENGTH}+ characters",
        )

    return cleaned


async def audit_read(
    conn: asyncpg.Connection | asyncpg.Pool,
    who: Viewer,
    action: str,
    object_type: str,
    object_id: str | int,
    **details: Any,
) -> None:
    """Record a read of customer data (a call list, an export, a playback)."""
    await audit(
        conn, who.actor, action, object_type, object_id, role=who.role, **details
    )
