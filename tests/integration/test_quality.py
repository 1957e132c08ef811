"""
Evaluation forms and scores: the weighted score by hand, who may score what,
live evaluation during listen-in, and per-operator quality.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from engine.reports.access import viewer
from engine.reports.exceptions import AccessDeniedError, ReportError
from engine.reports.quality import (
    Criterion,
    Form,
    create_form,
    evaluations_of_call,
    operator_quality,
    score_call,
)
from engine.reports.stats import Scope

SEED = Path(__file__).with_name("report_seed.sql")
CRITERIA = [
    Criterion("greeting", 1, 5),
    Criterion("compliance script", 3, 5),
    Criterion("resolution", 2, 10),
]


@pytest.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection on the seeded database."""
    await pool.execute(SEED.read_text())
    async with pool.acquire() as connection:
        yield connection


async def _form(conn: asyncpg.Connection) -> Form:
    return await create_form(
        conn, await viewer(conn, "dora"), "Cards", "QA", 75, CRITERIA
    )


def _points(form: Form, values: list[int]) -> dict[int, int]:
    return {cid: v for (cid, _), v in zip(form.criteria, values, strict=True)}


async def test_score_weighted_mean_matches_hand_value(conn: asyncpg.Connection) -> None:
    form = await _form(conn)
    dora = await viewer(conn, "dora")
    # (1 * 4/5 + 3 * 5/5 + 2 * 5/10) / 6 = 4.8 / 6 = 80 %
    result = await score_call(conn, dora, "a1", form, _points(form, [4, 5, 5]), "clear")
    # (1 * 0 + 3 * 2/5 + 2 * 10/10) / 6 = 3.2 / 6 = 53.33 %
    again = await score_call(conn, dora, "a1", form, _points(form, [0, 2, 10]), "redo")
    lines = await evaluations_of_call(conn, "a1")

    assert (result.score, result.passed, result.live) == (80.0, True, False)
    assert (again.score, again.passed) == (53.33, False)
    assert again.id == result.id
    assert len(lines) == 1
    assert lines[0]["comment"] == "redo"
    assert [(x["label"], x["points"]) for x in lines[0]["lines"]] == [
        ("greeting", 0),
        ("compliance script", 2),
        ("resolution", 10),
    ]


async def test_score_by_operator_refused(conn: asyncpg.Connection) -> None:
    form = await _form(conn)
    with pytest.raises(AccessDeniedError, match="alice may not score calls"):
        await score_call(
            conn, await viewer(conn, "alice"), "a1", form, _points(form, [1, 1, 1])
        )


async def test_score_other_team_by_director_refused(conn: asyncpg.Connection) -> None:
    form = await _form(conn)
    with pytest.raises(AccessDeniedError, match="another team"):
        await score_call(
            conn, await viewer(conn, "dora"), "a5", form, _points(form, [1, 1, 1])
        )


async def test_score_points_out_of_range_refused(conn: asyncpg.Connection) -> None:
    form = await _form(conn)
    with pytest.raises(ReportError, match="'greeting' must be 0 to 5"):
        await score_call(
            conn, await viewer(conn, "root"), "a1", form, _points(form, [6, 1, 1])
        )


async def test_live_score_needs_listen_in(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,"
        " caller_id, dial_string, engine_id, lease_expires_at, state, answered_at)"
        " VALUES ('live', 1, 1, 9, '+8613800000001', '+1', 'x', 'e', now(), 'answered',"
        " now());"
        "INSERT INTO operator_calls (call_id, campaign_id, contact_id, operator_id,"
        " session_id, bridge_id, wait_ms, bridged_at) VALUES ('live', 1, 1, 'alice',"
        " 1, 'b', 100, now())"
    )
    form = await _form(conn)
    dora = await viewer(conn, "dora")
    with pytest.raises(AccessDeniedError, match="without listening in"):
        await score_call(conn, dora, "live", form, _points(form, [5, 5, 10]))
    await conn.execute(
        "INSERT INTO supervision_sessions (supervisor_id, call_id, operator_id, mode,"
        " engine_id, started_at) VALUES ('dora', 'live', 'alice', 'listen', 'e', now())"
    )
    result = await score_call(conn, dora, "live", form, _points(form, [5, 5, 10]))

    assert (result.score, result.live) == (100.0, True)


async def test_operator_quality_per_operator_and_scope(
    conn: asyncpg.Connection,
) -> None:
    form = await _form(conn)
    root = await viewer(conn, "root")
    await score_call(conn, root, "a1", form, _points(form, [5, 5, 10]))  # 100
    await score_call(conn, root, "a6", form, _points(form, [0, 0, 0]))  # 0
    await score_call(conn, root, "a5", form, _points(form, [5, 4, 8]))  # 4.4/6*100
    every = await operator_quality(conn, 1, Scope())
    bob_only = await operator_quality(conn, None, (await viewer(conn, "bob")).scope)

    assert [(q.operator, q.evaluations, q.average_score, q.passed) for q in every] == [
        ("alice", 2, 50.0, 1),
        ("bob", 1, 83.33, 1),
    ]
    assert every[0].pass_rate == 0.5
    assert [q.operator for q in bob_only] == ["bob"]


async def test_create_form_without_criteria_refused(conn: asyncpg.Connection) -> None:
    with pytest.raises(ReportError, match="at least one criterion"):
        await create_form(conn, await viewer(conn, "root"), "Cards", "Empty", 50, [])
