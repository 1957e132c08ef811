"""
Softphone sessions: the operator's state machine and its rows in Postgres.

    connecting ──> ready <──> paused
                    │ ^
                    v │ (wrap-up time passes, or the operator is ready early)
                  on_call ──> wrap_up
    any state ──> logged_out

Every transition is one UPDATE guarded by the states it may come from, so two
engines (or the web app and an engine) racing on one session cannot both win.
Each state also gets a row in ``operator_state_log`` with its start and end,
which reports turn into occupancy figures.

A wrap-up whose time is over counts as ready for routing even if no timer has
flipped the row yet (an engine may have died mid wrap-up); ``idle_since`` is
set to the end of the wrap-up, so longest-idle ordering stays right.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg
import structlog

from engine.db.audit import audit
from engine.operators.exceptions import SessionStateError

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "outdial_operator_sessions"


class SessionState(StrEnum):
    """Where an operator is in their shift."""

    CONNECTING = "connecting"
    READY = "ready"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    LOGGED_OUT = "logged_out"


S = SessionState
# the states each state may be entered from
ALLOWED_FROM: dict[SessionState, tuple[SessionState, ...]] = {
    S.READY: (S.CONNECTING, S.WRAP_UP, S.PAUSED, S.READY),
    S.ON_CALL: (S.READY, S.WRAP_UP),
    S.WRAP_UP: (S.ON_CALL,),
    S.PAUSED: (S.READY, S.WRAP_UP, S.PAUSED),
    S.LOGGED_OUT: (S.CONNECTING, S.READY, S.ON_CALL, S.WRAP_UP, S.PAUSED),
}

_COLUMNS = (
    "s.id, s.operator_id, s.campaign_id, s.state, s.state_since, s.idle_since,"
    " s.wrap_up_until, s.pause_reason, s.engine_id, s.channel_id,"
    " s.holding_bridge_id, s.call_id, s.calls_taken, s.started_at, s.ended_at,"
    " s.end_reason, o.endpoint"
)


@dataclass(frozen=True)
class Session:
    """One operator session as stored."""

    id: int
    operator_id: str
    campaign_id: int | None
    state: SessionState
    state_since: datetime
    idle_since: datetime | None
    wrap_up_until: datetime | None
    pause_reason: str | None
    engine_id: str | None
    channel_id: str | None
    holding_bridge_id: str | None
    call_id: str | None
    calls_taken: int
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    endpoint: str | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> "Session":
        """Build from a row selected with the session columns."""
        values = dict(row)
        values["state"] = SessionState(values["state"])

        return cls(**values)

    def effective_state(self, now: datetime) -> SessionState:
        """The state as routing sees it: a finished wrap-up is ready."""
        if (
            self.state is S.WRAP_UP
            and self.wrap_up_until is not None
            and self.wrap_up_until <= now
        ):
            return S.READY

        return self.state


class SessionRepository:
    """Session rows: open, move between states, close."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def open(
        self,
        operator_id: str,
        campaign_id: int | None,
        now: datetime,
        *,
        engine: tuple[str, str] | None = None,
    ) -> Session:
        """
        Start a 'connecting' session; an operator has at most one live.

        ``engine`` (engine id, ARI url) marks it as already taken by that
        engine, as for a softphone that dialled in; else any engine may dial.
        """
        engine_id, ari_url = engine or (None, None)
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                session_id = await conn.fetchval(
                    "INSERT INTO operator_sessions (operator_id, campaign_id, state,"
                    " state_since, engine_id, ari_url)"
                    " VALUES ($1, $2, 'connecting', $3, $4, $5) RETURNING id",
                    operator_id,
                    campaign_id,
                    now,
                    engine_id,
                    ari_url,
                )
            except asyncpg.UniqueViolationError:
                raise SessionStateError(
                    f"operator {operator_id} already has a live session"
                ) from None
            await _log_state(conn, session_id, operator_id, S.CONNECTING, now)
            await audit(
                conn,
                operator_id,
                "operator_session_requested",
                "operator_session",
                session_id,
                campaign_id=campaign_id,
            )
            await conn.execute(
                "SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, str(session_id)
            )

        return await self.get(session_id)

    async def get(self, session_id: int) -> Session:
        """The session, or SessionStateError if there is none."""
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM operator_sessions s"
            " JOIN operators o ON o.id = s.operator_id WHERE s.id = $1",
            session_id,
        )
        if row is None:
            raise SessionStateError(f"no operator session {session_id}")

        return Session.from_row(row)

    async def live_for(self, operator_id: str) -> Session | None:
        """The operator's session that is not logged out, if any."""
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM operator_sessions s"
            " JOIN operators o ON o.id = s.operator_id"
            " WHERE s.operator_id = $1 AND s.state <> 'logged_out'",
            operator_id,
        )

        return None if row is None else Session.from_row(row)

    async def by_channel(self, channel_id: str) -> Session | None:
        """The live session whose softphone leg is ``channel_id``."""
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM operator_sessions s"
            " JOIN operators o ON o.id = s.operator_id"
            " WHERE s.channel_id = $1 AND s.state <> 'logged_out'",
            channel_id,
        )

        return None if row is None else Session.from_row(row)

    async def claim_connecting(self, engine_id: str, ari_url: str) -> list[Session]:
        """Take every login no engine has started yet, for this engine to dial."""
        rows = await self._pool.fetch(
            "UPDATE operator_sessions SET engine_id = $1, ari_url = $2"
            " WHERE id IN (SELECT id FROM operator_sessions"
            "  WHERE state = 'connecting' AND engine_id IS NULL"
            "  FOR UPDATE SKIP LOCKED) RETURNING id",
            engine_id,
            ari_url,
        )

        return [await self.get(r["id"]) for r in rows]

    async def connected(
        self, session_id: int, channel_id: str, bridge_id: str, now: datetime
    ) -> Session:
        """The softphone answered and sits in the holding bridge: ready."""
        await self._pool.execute(
            "UPDATE operator_sessions SET channel_id = $2, holding_bridge_id = $3"
            " WHERE id = $1",
            session_id,
            channel_id,
            bridge_id,
        )

        return await self.transition(session_id, S.READY, now)

    async def transition(
        self,
        session_id: int,
        to: SessionState,
        now: datetime,
        *,
        reason: str | None = None,
        call_id: str | None = None,
        wrap_up_s: float = 0.0,
    ) -> Session:
        """Move a session to ``to`` if its current state allows it."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await transition(
                conn,
                session_id,
                to,
                now,
                reason=reason,
                call_id=call_id,
                wrap_up_s=wrap_up_s,
            )
        if row is None:
            current = await self.get(session_id)
            raise SessionStateError(
                f"session {session_id} cannot go from {current.state} to {to}"
            )
        log.debug("operator_state_changed", session_id=session_id, state=to.value)

        return await self.get(session_id)


async def transition(
    conn: asyncpg.Connection,
    session_id: int,
    to: SessionState,
    now: datetime,
    *,
    reason: str | None = None,
    call_id: str | None = None,
    wrap_up_s: float = 0.0,
) -> asyncpg.Record | None:
    """
    The guarded UPDATE of one transition, in the caller's transaction.

    Returns the updated row (id, operator_id) or None when the session is not
    in a state that may go to ``to``.
    """
    wrap_up_until = now + timedelta(seconds=wrap_up_s) if to is S.WRAP_UP else None
    idle_since = {S.READY: now, S.WRAP_UP: wrap_up_until}.get(to)
    row = await conn.fetchrow(
        "UPDATE operator_sessions SET state = $2::text, state_since = $3::timestamptz,"
        " idle_since = $4::timestamptz, wrap_up_until = $5::timestamptz,"
        " pause_reason = CASE WHEN $2 = 'paused' THEN $6::text END,"
        " call_id = CASE WHEN $2 IN ('on_call', 'wrap_up') THEN"
        "  coalesce($7::text, call_id) END,"
        " calls_taken = calls_taken + CASE WHEN $2 = 'on_call' THEN 1 ELSE 0 END,"
        " ended_at = CASE WHEN $2 = 'logged_out' THEN $3 END,"
        " end_reason = CASE WHEN $2 = 'logged_out' THEN $6 END"
        " WHERE id = $1 AND state = ANY($8::text[])"
        " RETURNING id, operator_id, call_id",
        session_id,
        to.value,
        now,
        idle_since,
        wrap_up_until,
        reason,
        call_id,
        [s.value for s in ALLOWED_FROM[to]],
    )
    if row is not None:
        await _log_state(conn, session_id, row["operator_id"], to, now, reason, call_id)

    return row


async def _log_state(
    conn: asyncpg.Connection,
    session_id: int,
    operator_id: str,
    state: SessionState,
    now: datetime,
    reason: str | None = None,
    call_id: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE operator_state_log SET ended_at = $2"
        " WHERE session_id = $1 AND ended_at IS NULL",
        session_id,
        now,
    )
    if state is S.LOGGED_OUT:
        return
    await conn.execute(
        "INSERT INTO operator_state_log (session_id, operator_id, state, reason,"
        " call_id, started_at) VALUES ($1, $2, $3, $4, $5, $6)",
        session_id,
        operator_id,
        state.value,
        reason,
        call_id,
        now,
    )
