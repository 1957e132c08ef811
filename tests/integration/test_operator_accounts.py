"""Operator accounts against the real Postgres: hashing, expiry, lockout, audit."""

from datetime import timedelta

import asyncpg
import pytest
from argon2 import PasswordHasher

from engine.clock import FakeClock
from engine.operators.accounts import AccountStore, Role
from engine.operators.exceptions import (
    AccountLockedError,
    AuthenticationError,
    OperatorExistsError,
    PasswordExpiredError,
    PasswordPolicyError,
)

# cheap argon2 parameters: the tests check the logic, not the cost
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(pool: asyncpg.Pool, clock: FakeClock) -> AccountStore:
    return AccountStore(
        pool, clock, password_max_age_days=90, max_failures=3, hasher=FAST_HASHER
    )


async def _ready_account(store: AccountStore, operator_id: str = "op1") -> None:
    await store.create(operator_id, "Li Na", Role.OPERATOR, "first-password-1")
    await store.change_password(operator_id, "first-password-1", PASSWORD)


async def _actions(pool: asyncpg.Pool, operator_id: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT action FROM audit_log WHERE object_id = $1 ORDER BY id", operator_id
    )
    return [r["action"] for r in rows]


async def test_account_first_login_requires_password_change(
    store: AccountStore,
) -> None:
    await store.create("op1", "Li Na", "operator", "first-password-1")

    with pytest.raises(PasswordExpiredError):
        await store.authenticate("op1", "first-password-1")


async def test_account_after_change_logs_in_and_audits(
    store: AccountStore, pool: asyncpg.Pool
) -> None:
    await _ready_account(store)

    account = await store.authenticate("op1", PASSWORD)

    assert account.role is Role.OPERATOR
    hashed = await pool.fetchval("SELECT password_hash FROM operators WHERE id='op1'")
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert (await _actions(pool, "op1"))[-1] == "operator_login"


async def test_account_wrong_passwords_lock_after_limit(
    store: AccountStore, pool: asyncpg.Pool
) -> None:
    await _ready_account(store)

    for _ in range(2):
        with pytest.raises(AuthenticationError):
            await store.authenticate("op1", "wrong password!")
    with pytest.raises(AccountLockedError):
        await store.authenticate("op1", "wrong password!")
    with pytest.raises(AccountLockedError):
        await store.authenticate("op1", PASSWORD)

    assert (await _actions(pool, "op1")).count("operator_login_failed") == 4
    await store.unlock("op1", actor="admin")
    assert (await store.authenticate("op1", PASSWORD)).failed_logins == 0


async def test_account_password_expires_after_max_age(
    store: AccountStore, clock: FakeClock
) -> None:
    await _ready_account(store)
    clock.advance(timedelta(days=91))

    with pytest.raises(PasswordExpiredError):
        await store.authenticate("op1", PASSWORD)
    await store.change_password("op1", PASSWORD, "a fresh password 2")

    assert (await store.authenticate("op1", "a fresh password 2")).id == "op1"


async def test_account_unknown_id_fails_like_wrong_password(
    store: AccountStore, pool: asyncpg.Pool
) -> None:
    with pytest.raises(AuthenticationError) as info:
        await store.authenticate("nobody", PASSWORD)

    assert str(info.value) == "wrong operator id or password"
    assert await _actions(pool, "nobody") == ["operator_login_failed"]


async def test_account_weak_or_duplicate_rejected(store: AccountStore) -> None:
    with pytest.raises(PasswordPolicyError):
        await store.create("op2", "Wang", "operator", "short")
    with pytest.raises(PasswordPolicyError):
        await store.create("op2", "Wang", "operator", "op2-is-my-password")
    await store.create(
        "op2", "Wang", "operator", "good password 1", endpoint="PJSIP/6002"
    )

    with pytest.raises(OperatorExistsError):
        await store.create(
            "op3", "Zhao", "operator", "good password 1", endpoint="PJSIP/6002"
        )
