"""
The operators API the web app (and tests, and the CLI) call.

Every method takes the acting ``Account`` first (from ``authenticate``) and
checks what it may do here, in the service, so that no page can forget:
operators see and change only their own session, calls and statistics;
directors and admins see everything, read the board, and supervise.

Logins and supervision work across processes: ``start_session`` and
``supervise`` write their rows and NOTIFY, and the engine holding the
softphones (a ``SoftphoneManager``, with a ``Supervisor``) acts on them.
An operator hanging up the customer from the desktop is a NOTIFY the engine
carrying the call acts on.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from engine.clock import Clock
from engine.db.audit import audit
from engine.logging import mask_name, mask_phone
from engine.operators import complaints, dispositions, supervision
from engine.operators.accounts import Account, AccountStore, Role
from engine.operators.board import Board, read_board
from engine.operators.dispositions import DispositionForm, check_access, load_call
from engine.operators.exceptions import (
    OperatorError,
    PermissionDeniedError,
    SessionStateError,
)
from engine.operators.sessions import (
    NOTIFY_CHANNEL,
    Session,
    SessionRepository,
    SessionState,
    transition,
)
from engine.operators.softphones import HANGUP_PREFIX, SoftphoneManager
from engine.operators.supervision import Mode


@dataclass(frozen=True)
class CurrentCall:
    """The customer on the operator's line, masked until identity is verified."""

    call_id: str
    campaign_id: int
    campaign_name: str
    kind: str
    customer_name: str | None
    phone: str
    fields: dict[str, Any]
    identity_verified: bool
    bridged_at: datetime
    script: dict[str, Any]
    outcome_codes: tuple[str, ...]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> "CurrentCall":
        """
        Build from an operator call row, masking the customer until verified.

        The one place the masking rule lives: the live call and the desktop's
        fallback to a call still waiting for its disposition both come here.
        """
        verified = row["identity_verified"]
        settings = dict(row["settings"] or {})

        return cls(
            call_id=row["call_id"],
            campaign_id=row["campaign_id"],
            campaign_name=row["campaign_name"],
            kind=row["kind"],
            customer_name=_reveal(row["customer_name"], verified, mask_name),
            phone=_reveal(row["phone"], verified, mask_phone) or "",
            fields=dict(row["fields"] or {}) if verified else {},
            identity_verified=verified,
            bridged_at=row["bridged_at"],
            script=dict(settings.get("script") or {}),
            outcome_codes=dispositions.outcome_codes(row["kind"]),
        )


@dataclass(frozen=True)
class CallSummary:
    """One call an operator took, with its disposition if any."""

    call_id: str
    campaign_name: str
    phone: str
    bridged_at: datetime
    ended_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class OperatorStats:
    """An operator's figures."""

    operator_id: str
    calls: int
    talk_s: float
    avg_wait_ms: float | None
    dispositions: int
    complaints: int
    by_outcome: dict[str, int]
    seconds_in_state: dict[str, float]


@dataclass(frozen=True)
class Escalation:
    """Something a director must look at."""

    id: int
    kind: str
    campaign_id: int
    call_id: str | None
    operator_id: str | None
    details: dict[str, Any]
    state: str
    created_at: datetime


_CURRENT = """
SELECT oc.call_id, oc.campaign_id, c.name AS campaign_name, c.kind,
       ct.name AS customer_name, a.phone, ct.fields, oc.identity_verified,
       oc.bridged_at, c.settings
FROM operator_sessions s
JOIN operator_calls oc ON oc.call_id = s.call_id
JOIN call_attempts a ON a.id = oc.call_id
JOIN contacts ct ON ct.id = oc.contact_id
JOIN campaigns c ON c.id = oc.campaign_id
WHERE s.operator_id = $1 AND s.state IN ('on_call', 'wrap_up')
"""


class OperatorService:
    """Accounts, sessions, calls, dispositions, board and supervision, checked."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        accounts: AccountStore,
        *,
        manager: SoftphoneManager | None = None,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.accounts = accounts
        self.sessions = SessionRepository(pool)
        self.manager = manager

    # accounts

    async def authenticate(self, operator_id: str, password: str) -> Account:
        """Check a login (audited); raises AuthenticationError and subclasses."""
        return await self.accounts.authenticate(operator_id, password)

    async def change_password(self, operator_id: str, old: str, new: str) -> None:
        """The operator's own change, also the way out of an expired password."""
        await self.accounts.change_password(operator_id, old, new)

    async def account(self, operator_id: str) -> Account:
        """A fresh copy of an account (for a web session that outlives a request)."""
        return await self.accounts.get(operator_id)

    # sessions

    async def start_session(
        self, actor: Account, campaign_id: int | None = None
    ) -> Session:
        """Ask an engine to call the operator's softphone; the session starts connecting."""
        if not actor.endpoint:
            raise SessionStateError(f"operator {actor.id} has no softphone endpoint")
        session = await self.sessions.open(actor.id, campaign_id, self.clock.now())
        if self.manager is not None:
            self.manager.wake()

        return session

    async def session(self, actor: Account) -> Session | None:
        """The actor's live session, if any."""
        return await self.sessions.live_for(actor.id)

    async def set_ready(self, actor: Account) -> Session:
        """Back to ready from a pause, or end a wrap-up early."""
        session = await self._live(actor)
        if session.state is SessionState.CONNECTING:
            raise SessionStateError("the softphone has not answered yet")

        return await self.sessions.transition(
            session.id, SessionState.READY, self.clock.now()
        )

    async def pause(self, actor: Account, reason: str) -> Session:
        """Take no calls until ready again; the reason shows on the board."""
        reason = reason.strip()[:200] or "pause"
        session = await self._live(actor)

        return await self.sessions.transition(
            session.id, SessionState.PAUSED, self.clock.now(), reason=reason
        )

    async def end_session(self, actor: Account) -> None:
        """Log out (refused during a call); the engine hangs up the softphone."""
        session = await self._live(actor)
        if session.state is SessionState.ON_CALL:
            raise SessionStateError("finish the call before logging out")
        async with self.pool.acquire() as conn, conn.transaction():
            row = await transition(
                conn,
                session.id,
                SessionState.LOGGED_OUT,
                self.clock.now(),
                reason="logout",
            )
            if row is None:
                raise SessionStateError("session changed meanwhile; try again")
            await audit(
                conn, actor.id, "operator_logout", "operator_session", session.id
            )
            await conn.execute(
                "SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, str(session.id)
            )

    async def _live(self, actor: Account) -> Session:
        session = await self.sessions.live_for(actor.id)
        if session is None:
            raise SessionStateError(f"operator {actor.id} is not logged in")

        return session

    # the call on the line

    async def current_call(self, actor: Account) -> CurrentCall | None:
        """The customer on the actor's line (or in wrap-up), masked until verified."""
        row = await self.pool.fetchrow(_CURRENT, actor.id)

        return None if row is None else CurrentCall.from_row(row)

    async def verify_identity(self, actor: Account, call_id: str) -> None:
        """The operator confirmed who the customer is: unmask the call."""
        async with self.pool.acquire() as conn, conn.transaction():
            call = await load_call(conn, call_id)
            check_access(actor, call, "verify the customer of")
            await conn.execute(
                "UPDATE operator_calls SET identity_verified = true WHERE call_id = $1",
                call_id,
            )
            await audit(
                conn, actor.id, "customer_identity_verified", "call_attempt", call_id
            )

    async def hang_up(self, actor: Account, call_id: str) -> None:
        """End the customer leg of the actor's call, from any process."""
        async with self.pool.acquire() as conn:
            check_access(actor, await load_call(conn, call_id), "hang up")
            live = await conn.fetchval(
                "SELECT ended_at IS NULL FROM operator_calls WHERE call_id = $1",
                call_id,
            )
            if not live:
                raise OperatorError(f"call {call_id} has already ended")
            await audit(
                conn, actor.id, "call_hung_up_by_operator", "call_attempt", call_id
            )
            if self.manager is None or not await self.manager.hangup_customer(call_id):
                # the engine carrying the call is elsewhere: ask it
                await conn.execute(
                    "SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, HANGUP_PREFIX + call_id
                )

    async def dispose(self, actor: Account, form: DispositionForm) -> str | None:
        """Store a disposition; returns the reason if it paused the campaign."""
        now = self.clock.now()
        call = await dispositions.record(self.pool, actor, form, now)
        if form.complaint or form.outcome == "complaint":
            return await complaints.check_and_pause(self.pool, call.campaign_id, now)

        return None

    # history and figures

    async def calls(
        self, actor: Account, operator_id: str | None = None, *, limit: int = 50
    ) -> list[CallSummary]:
        """Calls an operator took, newest first: the actor's own unless a director."""
        operator_id = self._whose(actor, operator_id, "see the calls of")
        rows = await self.pool.fetch(
            "SELECT oc.call_id, c.name AS campaign_name, a.phone, oc.bridged_at,"
            " oc.ended_at, d.outcome FROM operator_calls oc"
            " JOIN call_attempts a ON a.id = oc.call_id"
            " JOIN campaigns c ON c.id = oc.campaign_id"
            " LEFT JOIN dispositions d ON d.call_id = oc.call_id"
            " WHERE oc.operator_id = $1 ORDER BY oc.bridged_at DESC LIMIT $2",
            operator_id,
            max(1, min(limit, 500)),
        )

        return [
            CallSummary(**{**dict(r), "phone": mask_phone(r["phone"])}) for r in rows
        ]

    async def stats(
        self, actor: Account, operator_id: str | None = None
    ) -> OperatorStats:
        """An operator's figures: the actor's own unless a director."""
        operator_id = self._whose(actor, operator_id, "see the statistics of")
        return await _stats(self.pool, operator_id, self.clock.now())

    def _whose(self, actor: Account, operator_id: str | None, what: str) -> str:
        if operator_id is None or operator_id == actor.id:
            return actor.id
        if not actor.supervises:
            raise PermissionDeniedError(actor.id, f"{what} {operator_id}")

        return operator_id

    # directors

    async def board(self, actor: Account) -> Board:
        """The live board of operators, calls and campaigns."""
        self._director(actor, "see the board")
        return await read_board(self.pool, self.clock.now())

    async def escalations(
        self, actor: Account, *, open_only: bool = True
    ) -> list[Escalation]:
        """Complaints, fraud and laundering flags, and automatic pauses."""
        self._director(actor, "see escalations")
        rows = await self.pool.fetch(
            "SELECT id, kind, campaign_id, call_id, operator_id, details, state,"
            " created_at FROM escalations WHERE NOT $1 OR state = 'open'"
            " ORDER BY created_at DESC LIMIT 500",
            open_only,
        )

        return [Escalation(**dict(r)) for r in rows]

    async def acknowledge(self, actor: Account, escalation_id: int) -> None:
        """Mark an escalation as seen and handled."""
        self._director(actor, "acknowledge escalations")
        async with self.pool.acquire() as conn, conn.transaction():
            done = await conn.fetchval(
                "UPDATE escalations SET state = 'acknowledged', acknowledged_by = $2,"
                " acknowledged_at = $3 WHERE id = $1 AND state = 'open' RETURNING id",
                escalation_id,
                actor.id,
                self.clock.now(),
            )
            if done is None:
                raise OperatorError(f"no open escalation {escalation_id}")
            await audit(
                conn, actor.id, "escalation_acknowledged", "escalation", escalation_id
            )

    async def supervise(self, actor: Account, call_id: str, mode: Mode | str) -> int:
        """
        Listen in, whisper or barge; returns the supervision session id.

        The engine carrying the call dials the director's softphone; the
        session row (``supervision_sessions``) shows when it joined.
        """
        sup_id = await supervision.request(
            self.pool, self.clock.now(), actor, call_id, mode
        )
        if self.manager is not None:
            self.manager.wake()

        return sup_id

    async def end_supervision(self, actor: Account, supervision_id: int) -> None:
        """Leave a supervised call (the engine hangs up the director's leg)."""
        self._director(actor, "end supervision")
        owner = await self.pool.fetchval(
            "SELECT supervisor_id FROM supervision_sessions WHERE id = $1",
            supervision_id,
        )
        if owner is None:
            raise OperatorError(f"no supervision session {supervision_id}")
        if owner != actor.id and actor.role is not Role.ADMIN:
            raise PermissionDeniedError(actor.id, f"end supervision {supervision_id}")
        await supervision.end(
            self.pool, self.clock.now(), supervision_id, "supervisor_left", actor.id
        )
        if self.manager is not None:
            self.manager.wake()

    def _director(self, actor: Account, what: str) -> None:
        if not actor.supervises:
            raise PermissionDeniedError(actor.id, what)


def _reveal(value: str | None, verified: bool, mask: Any) -> str | None:
    if value is None:
        return None

    return value if verified else mask(value)


_STATS = """
SELECT count(*) AS calls,
       coalesce(sum(extract(epoch FROM (oc.ended_at - oc.bridged_at))), 0) AS talk_s,
       avg(oc.wait_ms) AS avg_wait_ms,
       count(d.id) AS dispositions,
       count(*) FILTER (WHERE d.complaint) AS complaints
FROM operator_calls oc LEFT JOIN dispositions d ON d.call_id = oc.call_id
WHERE oc.operator_id = $1
"""


async def _stats(pool: asyncpg.Pool, operator_id: str, now: datetime) -> OperatorStats:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_STATS, operator_id)
        outcomes = await conn.fetch(
            "SELECT outcome, count(*) AS n FROM dispositions WHERE operator_id = $1"
            " GROUP BY outcome",
            operator_id,
        )
        states = await conn.fetch(
            "SELECT state, sum(extract(epoch FROM (coalesce(ended_at, $2) - started_at)))"
            " AS s FROM operator_state_log WHERE operator_id = $1 GROUP BY state",
            operator_id,
            now,
        )

    return OperatorStats(
        operator_id=operator_id,
        calls=row["calls"],
        talk_s=float(row["talk_s"]),
        avg_wait_ms=None if row["avg_wait_ms"] is None else float(row["avg_wait_ms"]),
        dispositions=row["dispositions"],
        complaints=row["complaints"],
        by_outcome={r["outcome"]: r["n"] for r in outcomes},
        seconds_in_state={r["state"]: float(r["s"]) for r in states},
    )
