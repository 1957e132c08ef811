"""
The post-call satisfaction survey, end to end on the simulator and Postgres.

The engine runs as ``outdial run`` builds it (dialer + operators). A
simulated operator takes the call; whoever leaves first decides whether the
customer is asked the survey question, whose key lands in
``survey_responses`` and in ``outdial quality report``.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from engine.ari import AriClient
from engine.cli.main import cli
from engine.clock import SystemClock
from engine.dialer.engine import Engine, build_engine
from engine.operators.accounts import Account, AccountStore
from engine.operators.exceptions import SurveyConfigError
from engine.operators.service import OperatorService
from engine.operators.sessions import SessionState
from engine.operators.survey import SurveySettings, survey_settings
from engine.operators.wiring import build_operators
from engine.settings import Settings, get_settings
from engine.sim import Behaviour, Simulator

PASSWORD = "survey password 2026"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PROMPT = "sound:outdial-survey"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A simulator where a simulated minute lasts 0.6 s; the prompt lasts 3 s."""
    async with Simulator(
        username="outdial", password="outdial", time_scale=0.01, seed=11
    ) as simulator:
        simulator.sounds["outdial-survey"] = 3.0
        yield simulator


@pytest.fixture
def settings(sim: Simulator, db_dsn: str, tmp_path: Path) -> Settings:
    """The engine on the simulator, with a short wrap-up."""
    return Settings(
        database_url=db_dsn,
        ari_url=sim.url,
        ari_app="outdial",
        engine_id=f"srv-{uuid.uuid4().hex[:6]}",
        lease_seconds=10,
        recordings_dir=tmp_path / "recordings",
        drain_seconds=20,
        dial_template="PJSIP/{number}@trunk",
        operator_answer_timeout_s=2.0,
        operator_wrap_up_s=0.05,
    )


@contextlib.asynccontextmanager
async def running(
    settings: Settings, pool: asyncpg.Pool
) -> AsyncIterator[tuple[Engine, OperatorService]]:
    """The engine with the operators attached, started."""
    ari = AriClient.from_settings(settings)
    clock = SystemClock()
    engine = build_engine(settings, pool, ari, clock, gates=())
    operators = build_operators(settings, pool, ari, clock)
    operators.service.accounts = AccountStore(pool, clock, hasher=FAST_HASHER)
    operators.attach(engine)
    try:
        async with operators.running():
            await engine.start()
            try:
                yield engine, operators.service
            finally:
                await engine.service.drain()
    finally:
        await ari.close()


async def eventually(check: Callable[[], Awaitable[bool]], limit_s: float = 15) -> None:
    """Wait until ``check()`` is true (Postgres state has no event to wait on)."""
    async with asyncio.timeout(limit_s):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def log_in(service: OperatorService, sim: Simulator, ext: str) -> Account:
    """An operator account on softphone ``ext``, logged in and ready."""
    operator_id = f"op{ext}"
    await service.accounts.create(
        operator_id, "Rater", "operator", "first password 1", endpoint=f"PJSIP/{ext}"
    )
    await service.accounts.change_password(operator_id, "first password 1", PASSWORD)
    sim.softphones.register(ext, answer_after=0.5)
    account = await service.authenticate(operator_id, PASSWORD)
    await service.start_session(account)

    async def ready() -> bool:
        session = await service.session(account)
        return session is not None and session.state is SessionState.READY

    await eventually(ready)

    return account


async def make_campaign(pool: asyncpg.Pool, phone: str, survey: dict[str, Any]) -> str:
    """A running operator campaign with a survey and one contact; its name."""
    name = f"survey-{uuid.uuid4().hex[:8]}"
    campaign_id = await pool.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id, state, max_concurrent,"
        " calls_per_second, settings) VALUES ($1, 'customer_care', '95555',"
        " 'running', 5, 10, $2) RETURNING id",
        name,
        {"operators": {"ratio": 1.0}, "survey": survey},
    )
    await pool.execute(
        "INSERT INTO contacts (campaign_id, phone) VALUES ($1, $2)", campaign_id, phone
    )

    return name


async def run_call(
    engine: Engine, service: OperatorService, account: Account, operator_leaves: bool
) -> str:
    """Dial the campaign; the operator ends the call, or waits for the customer."""
    dialling = [
        asyncio.create_task(engine.controller.run()),
        asyncio.create_task(engine.archiver.run()),
    ]
    try:
        call = None
        async with asyncio.timeout(15):
            while call is None:
                call = await service.current_call(account)
                await asyncio.sleep(0.02)
        if operator_leaves:
            await service.hang_up(account, call.call_id)
        await eventually(lambda: call_archived(engine), limit_s=30)
    finally:
        for task in dialling:
            task.cancel()
        await asyncio.gather(*dialling, return_exceptions=True)

    return call.call_id


async def call_archived(engine: Engine) -> bool:
    """The attempt has ended and its recording is in the archive."""
    archived = await engine.repo.pool.fetchval(
        "SELECT count(*) FROM call_attempts a JOIN recordings r"
        " ON r.attempt_id = a.id WHERE a.state = 'ended' AND r.state = 'archived'"
    )

    return bool(archived == 1)


async def finished_call(pool: asyncpg.Pool, call_id: str) -> asyncpg.Record:
    """The attempt with its recording and operator-side figures."""
    row = await pool.fetchrow(
        "SELECT a.outcome, a.state, a.answered_at, a.ended_at, r.state AS rec,"
        " r.duration_s, oc.ended_at AS operator_left_at"
        " FROM call_attempts a JOIN recordings r ON r.attempt_id = a.id"
        " JOIN operator_calls oc ON oc.call_id = a.id WHERE a.id = $1",
        call_id,
    )
    assert row is not None

    return row


async def test_survey_operator_hangs_up_first_digit_stored_and_reported(
    sim: Simulator,
    settings: Settings,
    pool: asyncpg.Pool,
    db_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the customer would stay 50 s (wall); presses 4 after the prompt
    sim.parties.set("8613700000*", Behaviour.answer(after=1.0, dtmf="4"))
    name = await make_campaign(
        pool, "+8613700000001", {"prompt": PROMPT, "max_digit": 5, "timeout_s": 5}
    )

    async with running(settings, pool) as (engine, service):
        account = await log_in(service, sim, "6301")
        call_id = await run_call(engine, service, account, operator_leaves=True)
        session = await service.session(account)
        await service.end_session(account)

    answers = await pool.fetch("SELECT * FROM survey_responses")
    assert [
        (r["attempt_id"], r["operator_id"], r["digit"], r["score"], r["max_score"])
        for r in answers
    ] == [(call_id, "op6301", "4", 4, 5)]
    call = await finished_call(pool, call_id)
    assert (call["outcome"], call["state"], call["rec"]) == (
        "answered",
        "ended",
        "archived",
    )
    # the operator left before the customer, who stayed recorded through the
    # 3 s prompt and the key (simulated seconds) until the engine hung up
    assert call["operator_left_at"] < answers[0]["answered_at"] <= call["ended_at"]
    assert call["duration_s"] >= 3
    assert session is not None
    assert session.state is not SessionState.ON_CALL

    monkeypatch.setenv("OUTDIAL_DATABASE_URL", db_dsn)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    shown = await asyncio.to_thread(
        CliRunner().invoke, cli, ["quality", "report", name, "--actor", "op6301"]
    )
    get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if "op6301" in line)
    assert "4.0 (80%)" in row


async def test_survey_customer_hangs_up_first_not_asked(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    # a customer who would answer any prompt with 5, but leaves after 200 s
    sim.parties.set(
        "8613700000*", Behaviour.answer(after=1.0, hangup_after=200.0, dtmf="5")
    )
    await make_campaign(pool, "+8613700000002", {"prompt": PROMPT, "timeout_s": 5})

    async with running(settings, pool) as (engine, service):
        account = await log_in(service, sim, "6302")
        call_id = await run_call(engine, service, account, operator_leaves=False)
        await service.end_session(account)

    assert await pool.fetchval("SELECT count(*) FROM survey_responses") == 0
    call = await finished_call(pool, call_id)
    assert (call["outcome"], call["rec"]) == ("answered", "archived")
    assert call["duration_s"] >= 150


async def test_survey_no_key_before_timeout_no_row_call_ends(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    # the operator's softphone hangs up; the customer never presses a key
    sim.parties.set("8613700000*", Behaviour.answer(after=1.0))
    await make_campaign(
        pool, "+8613700000003", {"prompt": PROMPT, "max_digit": 5, "timeout_s": 0.3}
    )

    async with running(settings, pool) as (engine, service):
        account = await log_in(service, sim, "6303")
        dialling = asyncio.create_task(
            run_call(engine, service, account, operator_leaves=False)
        )

        async def on_call() -> bool:
            return await service.current_call(account) is not None

        await eventually(on_call)
        sim.softphones.hangup("6303")
        call_id = await dialling

    assert await pool.fetchval("SELECT count(*) FROM survey_responses") == 0
    call = await finished_call(pool, call_id)
    assert (call["outcome"], call["state"], call["rec"]) == (
        "answered",
        "ended",
        "archived",
    )
    assert call_id not in sim.channels


def test_survey_settings_parsed_and_bad_ones_named() -> None:
    assert survey_settings({"operators": {}}) is None
    assert survey_settings({"survey": {"prompt": PROMPT}}) == SurveySettings(
        PROMPT, 5, 8.0
    )
    with pytest.raises(SurveyConfigError, match="max_digit"):
        survey_settings({"survey": {"prompt": PROMPT, "max_digit": 12}})
    with pytest.raises(SurveyConfigError, match="prompt"):
        survey_settings({"survey": {"max_digit": 3}})
    with pytest.raises(SurveyConfigError, match="unknown fields"):
        survey_settings({"survey": {"prompt": PROMPT, "digits": 3}})
