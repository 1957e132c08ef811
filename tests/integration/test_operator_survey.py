"""
The post-call satisfaction survey, end to end on the simulator and Postgres.

The engine runs as ``outdial run`` builds it (dialer + operators). A
simulated operator takes the call; whoever leaves first decides whether the
customer is asked the survey question, whose key lands in
``survey_responses`` and in ``outdial quality report``.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner
from operator_helpers import (
    call_archived,
    dialling,
    engine_settings,
    eventually,
    log_in,
    make_campaign,
    operator_bridged,
    running,
    wait_call,
)

from engine.cli.main import cli
from engine.clock import SystemClock
from engine.dialer.engine import Engine
from engine.operators.accounts import Account
from engine.operators.exceptions import SurveyConfigError
from engine.operators.service import OperatorService
from engine.operators.sessions import SessionState
from engine.operators.survey import SurveySettings, survey_settings
from engine.settings import Settings, get_settings
from engine.sim import Behaviour, Simulator

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
    """The engine on the simulator."""
    return engine_settings(sim, db_dsn, tmp_path)


async def survey_campaign(pool: asyncpg.Pool, phone: str, **survey: object) -> str:
    """A running operator campaign with a survey and one contact; its name."""
    settings = {"operators": {"ratio": 1.0}, "survey": {"prompt": PROMPT, **survey}}
    _, name = await make_campaign(pool, phone, settings)

    return name


async def run_call(
    engine: Engine,
    service: OperatorService,
    account: Account,
    *,
    hang_up_on: Simulator | None = None,
    desktop: OperatorService | None = None,
) -> str:
    """
    Dial the campaign's one call; wait until it is archived.

    With ``hang_up_on`` the operator ends the call once the simulator shows
    their leg in the customer's bridge (through ``desktop``, a service in
    another process, if given); else the customer or a test ends it.
    """
    pool = engine.repo.pool
    async with dialling(engine):
        call_id = await wait_call(service, account)
        if hang_up_on is not None:
            await eventually(lambda: operator_bridged(hang_up_on, pool, call_id))
            await (desktop or service).hang_up(account, call_id)
        await eventually(lambda: call_archived(pool), limit_s=30)

    return call_id


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
    name = await survey_campaign(pool, "+8613700000001", max_digit=5, timeout_s=5)

    async with running(settings, pool) as (engine, service):
        account = await log_in(service, sim, "op6301", "6301")
        call_id = await run_call(engine, service, account, hang_up_on=sim)
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
    await survey_campaign(pool, "+8613700000002", timeout_s=5)

    async with running(settings, pool) as (engine, service):
        account = await log_in(service, sim, "op6302", "6302")
        call_id = await run_call(engine, service, account)
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
    await survey_campaign(pool, "+8613700000003", max_digit=5, timeout_s=0.3)

    async with running(settings, pool) as (engine, service):
        account = await log_in(service, sim, "op6303", "6303")
        # One watcher of the operator's call: a second one (run_call in a task)
        # could miss the call altogether on a loaded machine, the softphone's
        # hang-up ending it between two of its polls, and wait until timeout.
        async with dialling(engine):
            call_id = await wait_call(service, account)
            await eventually(lambda: operator_bridged(sim, pool, call_id))
            sim.softphones.hangup("6303")
            await eventually(lambda: call_archived(pool), limit_s=30)

    assert await pool.fetchval("SELECT count(*) FROM survey_responses") == 0
    call = await finished_call(pool, call_id)
    assert (call["outcome"], call["state"], call["rec"]) == (
        "answered",
        "ended",
        "archived",
    )
    assert call_id not in sim.channels


async def test_survey_desktop_in_other_process_hangs_up_customer_asked(
    sim: Simulator, settings: Settings, pool: asyncpg.Pool
) -> None:
    sim.parties.set("8613700000*", Behaviour.answer(after=1.0, dtmf="2"))
    await survey_campaign(pool, "+8613700000004", max_digit=3, timeout_s=5)

    async with running(settings, pool) as (engine, service):
        account = await log_in(service, sim, "op6304", "6304")
        # the web desktop: no softphone manager, the hang-up goes by NOTIFY
        desktop = OperatorService(pool, SystemClock(), service.accounts)
        call_id = await run_call(
            engine, service, account, hang_up_on=sim, desktop=desktop
        )
        await service.end_session(account)

    answers = await pool.fetch("SELECT * FROM survey_responses")
    assert [(r["attempt_id"], r["score"], r["max_score"]) for r in answers] == [
        (call_id, 2, 3)
    ]
    hung_up = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'call_hung_up_by_operator'"
        " AND actor = 'op6304' AND object_id = $1",
        call_id,
    )
    assert hung_up == 1


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
