"""
Operator accounts: argon2 passwords, expiry, lockout, and the audit of each login.

Hashing and verifying run in a worker thread (``asyncio.to_thread``): argon2 is
deliberately slow, and on the event loop it would stall every call in flight.
An unknown operator id is verified against a dummy hash so that the time taken
does not tell an attacker which ids exist.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import asyncpg
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.clock import Clock
from engine.db.audit import audit
from engine.operators.exceptions import (
    AccountLockedError,
    AuthenticationError,
    OperatorExistsError,
    OperatorNotFoundError,
    PasswordExpiredError,
    PasswordPolicyError,
)
from engine.settings import Settings

log = structlog.get_logger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
_DUMMY_PASSWORD = "not a real password, only burns time"


class Role(StrEnum):
    """What an account may do: operators take calls, directors supervise."""

    OPERATOR = "operator"
    DIRECTOR = "director"
    ADMIN = "admin"


@dataclass(frozen=True)
class Account:
    """One operator, director or admin, without the password hash."""

    id: str
    name: str
    role: Role
    endpoint: str | None
    team: str | None
    password_expires_at: datetime
    must_change_password: bool
    failed_logins: int
    locked: bool
    last_login_at: datetime | None

    @property
    def supervises(self) -> bool:
        """Directors and admins see every call and may listen in."""
        return self.role in (Role.DIRECTOR, Role.ADMIN)


_COLUMNS = (
    "id, name, role, endpoint, team, password_expires_at, must_change_password,"
    " failed_logins, locked_at IS NOT NULL AS locked, last_login_at"
)


def account_from_row(row: asyncpg.Record) -> Account:
    """Build an Account from a row selected with the account columns."""
    values: dict[str, Any] = dict(row)
    values["role"] = Role(values["role"])

    return Account(**{k: values[k] for k in Account.__dataclass_fields__})


async def hash_password(hasher: PasswordHasher, password: str) -> str:
    """The argon2id hash of ``password``, computed off the event loop."""
    return await asyncio.to_thread(hasher.hash, password)


async def verify_password(
    hasher: PasswordHasher, password_hash: str, password: str
) -> bool:
    """Whether ``password`` matches, checked off the event loop."""
    try:
        return await asyncio.to_thread(hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_policy(operator_id: str, password: str) -> None:
    """Refuse passwords that are too short, too long or contain the id."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"password must have at most {MAX_PASSWORD_LENGTH} characters"
        )
    if operator_id.lower() in password.lower():
        raise PasswordPolicyError("password must not contain the operator id")


class AccountStore:
    """Accounts in Postgres: create, authenticate, change passwords, lock."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        *,
        password_max_age_days: int = 90,
        max_failures: int = 5,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash = self._hasher.hash(_DUMMY_PASSWORD)
        self._pool = pool
        self._clock = clock
        self._max_age = timedelta(days=password_max_age_days)
        self._max_failures = max_failures

    @classmethod
    def from_settings(
        cls, settings: Settings, pool: asyncpg.Pool, clock: Clock
    ) -> "AccountStore":
        """The store with the configured password age and lockout policy."""
        return cls(
            pool,
            clock,
            password_max_age_days=settings.password_max_age_days,
            max_failures=settings.login_max_failures,
        )

    async def create(
        self,
        operator_id: str,
        name: str,
        role: Role | str,
        password: str,
        *,
        endpoint: str | None = None,
        team: str | None = None,
        actor: str = "system",
    ) -> Account:
        """Add an account whose first password must be changed at first login."""
        role = Role(role)
        check_password_policy(operator_id, password)
        digest = await hash_password(self._hasher, password)
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                row = await conn.fetchrow(
                    "INSERT INTO operators (id, name, role, endpoint, team,"
                    " password_hash, password_changed_at, password_expires_at)"
                    f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_COLUMNS}",
                    operator_id,
                    name,
                    role.value,
                    endpoint,
                    team,
                    digest,
                    now,
                    now + self._max_age,
                )
            except asyncpg.UniqueViolationError:
                raise OperatorExistsError(
                    f"operator {operator_id} or endpoint {endpoint} already exists"
                ) from None
            except asyncpg.CheckViolationError as exc:
                raise OperatorExistsError(f"bad operator field: {exc.detail}") from None
            await audit(
                conn, actor, "operator_created", "operator", operator_id, role=role
            )
        log.info("operator_created", operator_id=operator_id, role=role.value)

        return account_from_row(row)

    async def get(self, operator_id: str) -> Account:
        """The account, or OperatorNotFoundError."""
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM operators WHERE id = $1", operator_id
        )
        if row is None:
            raise OperatorNotFoundError(operator_id)

        return account_from_row(row)

    async def list_all(self) -> list[Account]:
        """Every account, ordered by id."""
        rows = await self._pool.fetch(f"SELECT {_COLUMNS} FROM operators ORDER BY id")

        return [account_from_row(r) for r in rows]

    async def authenticate(self, operator_id: str, password: str) -> Account:
        """
        Check a login; audit it; count failures and lock after too many.

        Raises AuthenticationError, AccountLockedError or PasswordExpiredError.
        """
        row = await self._pool.fetchrow(
            "SELECT password_hash, locked_at IS NOT NULL AS locked,"
            " password_expires_at, must_change_password FROM operators WHERE id = $1",
            operator_id,
        )
        if row is None:
            await verify_password(self._hasher, self._dummy_hash, password)
            await self._audit_failure(operator_id, "unknown_operator")
            raise AuthenticationError()
        if row["locked"]:
            await self._audit_failure(operator_id, "locked")
            raise AccountLockedError(operator_id)
        if not await verify_password(self._hasher, row["password_hash"], password):
            await self._record_failure(operator_id)
        if row["must_change_password"] or row["password_expires_at"] <= (
            self._clock.now()
        ):
            await self._audit_failure(operator_id, "password_expired")
            raise PasswordExpiredError(operator_id)

        return await self._record_success(operator_id, row["password_hash"], password)

    async def change_password(self, operator_id: str, old: str, new: str) -> None:
        """The operator's own change: the old password (even expired) is required."""
        row = await self._pool.fetchrow(
            "SELECT password_hash, locked_at IS NOT NULL AS locked"
            " FROM operators WHERE id = $1",
            operator_id,
        )
        if row is None:
            await verify_password(self._hasher, self._dummy_hash, old)
            raise AuthenticationError()
        if row["locked"]:
            raise AccountLockedError(operator_id)
        if not await verify_password(self._hasher, row["password_hash"], old):
            await self._record_failure(operator_id)
        if old == new:
            raise PasswordPolicyError("new password must differ from the old one")
        await self._store_password(
            operator_id, new, must_change=False, actor=operator_id
        )

    async def set_password(
        self, operator_id: str, new: str, *, actor: str, must_change: bool = True
    ) -> None:
        """An admin's reset; by default the operator must change it at next login."""
        await self.get(operator_id)
        await self._store_password(
            operator_id, new, must_change=must_change, actor=actor
        )

    async def lock(self, operator_id: str, *, actor: str, reason: str) -> None:
        """Lock an account so that no login succeeds until it is unlocked."""
        await self._set_lock(operator_id, locked=True, actor=actor, reason=reason)

    async def unlock(self, operator_id: str, *, actor: str) -> None:
        """Unlock an account and clear its failure count."""
        await self._set_lock(operator_id, locked=False, actor=actor, reason=None)

    async def _set_lock(
        self, operator_id: str, *, locked: bool, actor: str, reason: str | None
    ) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            done = await conn.fetchval(
                "UPDATE operators SET locked_at = CASE WHEN $2 THEN now() END,"
                " locked_reason = $3, failed_logins = 0, updated_at = now()"
                " WHERE id = $1 RETURNING id",
                operator_id,
                locked,
                reason,
            )
            if done is None:
                raise OperatorNotFoundError(operator_id)
            action = "operator_locked" if locked else "operator_unlocked"
            await audit(conn, actor, action, "operator", operator_id, reason=reason)
        log.info(action, operator_id=operator_id)

    async def _store_password(
        self, operator_id: str, new: str, *, must_change: bool, actor: str
    ) -> None:
        check_password_policy(operator_id, new)
        digest = await hash_password(self._hasher, new)
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE operators SET password_hash = $2, password_changed_at = $3,"
                " password_expires_at = $4, must_change_password = $5,"
                " failed_logins = 0, updated_at = now() WHERE id = $1",
                operator_id,
                digest,
                now,
                now + self._max_age,
                must_change,
            )
            await audit(
                conn,
                actor,
                "operator_password_changed",
                "operator",
                operator_id,
                must_change=must_change,
            )
        log.info("operator_password_changed", operator_id=operator_id)

    async def _record_failure(self, operator_id: str) -> None:
        """Count a wrong password, locking at the limit; always raises."""
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await conn.fetchval(
                "UPDATE operators SET failed_logins = failed_logins + 1,"
                " locked_at = CASE WHEN failed_logins + 1 >= $2 THEN now()"
                " ELSE locked_at END,"
                " locked_reason = CASE WHEN failed_logins + 1 >= $2"
                " THEN 'too many failed logins' ELSE locked_reason END"
                " WHERE id = $1 RETURNING locked_at IS NOT NULL",
                operator_id,
                self._max_failures,
            )
            await audit(
                conn,
                operator_id,
                "operator_login_failed",
                "operator",
                operator_id,
                reason="wrong_password",
                locked=bool(locked),
            )
        log.warning("operator_login_failed", operator_id=operator_id, locked=locked)
        if locked:
            raise AccountLockedError(operator_id)
        raise AuthenticationError()

    async def _audit_failure(self, operator_id: str, reason: str) -> None:
        await audit(
            self._pool,
            operator_id,
            "operator_login_failed",
            "operator",
            operator_id,
            reason=reason,
        )
        log.warning("operator_login_failed", operator_id=operator_id, reason=reason)

    async def _record_success(
        self, operator_id: str, password_hash: str, password: str
    ) -> Account:
        new_hash = None
        if self._hasher.check_needs_rehash(password_hash):
            new_hash = await hash_password(self._hasher, password)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE operators SET failed_logins = 0, last_login_at = $2,"
                " password_hash = coalesce($3, password_hash)"
                f" WHERE id = $1 RETURNING {_COLUMNS}",
                operator_id,
                self._clock.now(),
                new_hash,
            )
            await audit(conn, operator_id, "operator_login", "operator", operator_id)
        log.info("operator_logged_in", operator_id=operator_id)

        return account_from_row(row)
