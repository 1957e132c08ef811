"""
Server-side web sessions in Postgres.

The cookie carries a random token; the table is keyed by its SHA-256. A session
ends after a stretch of idleness or at its absolute limit, whichever is first.
Logging in always starts a new session (the pre-login one is deleted), so a
token planted in a browser before login is worth nothing after it.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

# Touching last_seen_at on every one-second poll would write a row per second
# per operator; once a minute is precise enough for the idle limit.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Session:
    """One browser's session: anonymous (login form) or an account's."""

    id: str
    operator_id: str | None
    role: str | None
    csrf_token: str
    must_change_password: bool
    last_seen_at: datetime
    expires_at: datetime

    @property
    def authenticated(self) -> bool:
        """True once an account has logged in on this session."""
        return self.operator_id is not None


def token_id(token: str) -> str:
    """The row id of a cookie token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh unguessable token, for a cookie or a CSRF field."""
    return secrets.token_urlsafe(32)


class SessionStore:
    """Creates, finds, touches and ends sessions."""

    def __init__(self, pool: asyncpg.Pool, idle: timedelta, max_age: timedelta):
        self._pool = pool
        self._idle = idle
        self._max_age = max_age

    async def create(
        self,
        *,
        operator_id: str | None = None,
        role: str | None = None,
        must_change_password: bool = False,
        remote: str | None = None,
        user_agent: str | None = None,
    ) -> tuple[str, Session]:
        """Start a session; return the cookie token and the session."""
        token = new_token()
        row = await self._pool.fetchrow(
            "INSERT INTO web_sessions (id, operator_id, role, csrf_token,"
            " must_change_password, remote, user_agent, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8) RETURNING *",
            token_id(token),
            operator_id,
            role,
            new_token(),
            must_change_password,
            remote,
            (user_agent or "")[:300],
            self._max_age,
        )
        assert row is not None

        return token, _session(row)

    async def find(self, token: str) -> Session | None:
        """The live session for a cookie token, or None if unknown or expired."""
        row = await self._pool.fetchrow(
            "SELECT *, now() AS db_now FROM web_sessions"
            " WHERE id = $1 AND expires_at > now()"
            " AND last_seen_at > now() - $2::interval",
            token_id(token),
            self._idle,
        )
        if row is None:
            return None
        session = _session(row)
        if row["last_seen_at"] < row["db_now"] - _TOUCH_EVERY:
            await self._pool.execute(
                "UPDATE web_sessions SET last_seen_at = now() WHERE id = $1",
                session.id,
            )

        return session

    async def end(self, session_id: str) -> None:
        """Delete one session (logout, or rotation at login)."""
        await self._pool.execute("DELETE FROM web_sessions WHERE id = $1", session_id)

    async def purge(self) -> int:
        """Delete expired and idle sessions; return how many went."""
        status = await self._pool.execute(
            "DELETE FROM web_sessions WHERE expires_at <= now()"
            " OR last_seen_at <= now() - $1::interval",
            self._idle,
        )

        return int(status.split()[-1])


def _session(row: asyncpg.Record) -> Session:
    return Session(
        id=row["id"],
        operator_id=row["operator_id"],
        role=row["role"],
        csrf_token=row["csrf_token"],
        must_change_password=row["must_change_password"],
        last_seen_at=row["last_seen_at"],
        expires_at=row["expires_at"],
    )
