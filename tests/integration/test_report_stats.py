"""
Every statistic of a seeded campaign against values computed by hand.

The seed (report_seed.sql) holds 6 contacts and 9 attempts, 8 of them ended;
the comments below show the arithmetic.
"""

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from engine.reports.exceptions import UnknownCampaignError
from engine.reports.stats import Grouping, Scope, by_outcome, campaign_report, totals

SEED = Path(__file__).with_name("report_seed.sql")
AS_OF = datetime(2026, 3, 3, tzinfo=UTC)


@pytest.fixture
async def seeded(pool: asyncpg.Pool) -> asyncpg.Pool:
    """The pool, with the hand-computed campaign loaded."""
    await pool.execute(SEED.read_text())
    return pool


@pytest.mark.parametrize("source", ["counters", "raw"])
async def test_campaign_stats_seeded_match_hand_values(
    seeded: asyncpg.Pool, source: str
) -> None:
    async with seeded.acquire() as conn:
        report = await campaign_report(conn, "Cards", as_of=AS_OF, source=source)
    (row,) = report.rows

    assert row.key == "Cards"
    assert (row.received, row.suppressed, row.completed) == (6, 1, 5)
    assert row.completion_rate == pytest.approx(5 / 6)
    # a1..a9 less the cancelled a7 and the still-ringing a8
    assert row.dialled == 7
    # a1, a5, a6 answered; a4 abandoned
    assert row.connected == 4
    assert row.connect_rate == pytest.approx(4 / 7)
    assert row.failed == {"busy": 1, "no_answer": 1, "congestion": 1}
    assert row.failed_total == 3
    assert row.abandoned == 1
    assert row.abandon_rate == pytest.approx(1 / 4)
    # (120 + 60 + 300) / 3
    assert row.avg_talk_s == pytest.approx(160.0)
    # (30 + 20 + 50) / 3
    assert row.avg_wrap_s == pytest.approx(100 / 3)
    assert row.dispositions == {"promise_to_pay": 1, "callback": 1, "refused": 1}
    assert row.callbacks_pending == 1
    assert row.complaints == 1


@pytest.mark.parametrize("source", ["counters", "raw"])
async def test_day_stats_local_days_match_hand_values(
    seeded: asyncpg.Pool, source: str
) -> None:
    async with seeded.acquire() as conn:
        report = await campaign_report(
            conn, 1, Grouping.DAY, as_of=AS_OF, source=source
        )
    first, second = report.rows

    assert first.key == "2026-03-01"
    assert (first.received, first.suppressed, first.completed) == (5, 1, 4)
    assert (first.dialled, first.connected, first.abandoned) == (6, 3, 1)
    assert first.failed_total == 3
    assert first.avg_talk_s == pytest.approx(90.0)
    assert first.avg_wrap_s == pytest.approx(25.0)
    assert first.dispositions == {"promise_to_pay": 1, "callback": 1}
    assert (first.callbacks_pending, first.complaints) == (1, 0)
    assert second.key == "2026-03-02"
    assert (second.received, second.completed, second.dialled) == (1, 1, 1)
    assert (second.connected, second.avg_talk_s) == (1, pytest.approx(300.0))
    assert (second.complaints, second.dispositions) == (1, {"refused": 1})


async def test_hour_stats_local_hours_match_hand_values(seeded: asyncpg.Pool) -> None:
    async with seeded.acquire() as conn:
        report = await campaign_report(conn, "Cards", Grouping.HOUR, as_of=AS_OF)
    got = {r.key: (r.dialled, r.connected) for r in report.rows}

    assert got == {"01": (1, 1), "10": (2, 1), "11": (3, 1), "12": (1, 1), "13": (0, 0)}


@pytest.mark.parametrize("source", ["counters", "raw"])
async def test_operator_stats_seeded_match_hand_values(
    seeded: asyncpg.Pool, source: str
) -> None:
    async with seeded.acquire() as conn:
        report = await campaign_report(
            conn, "Cards", Grouping.OPERATOR, as_of=AS_OF, source=source
        )
    alice, bob = report.rows

    assert (alice.key, alice.connected) == ("alice", 2)
    # bridged to ended: a1 119 s, a6 299 s
    assert alice.avg_talk_s == pytest.approx(209.0)
    assert alice.avg_wrap_s == pytest.approx(40.0)
    assert alice.dispositions == {"promise_to_pay": 1, "refused": 1}
    assert (alice.callbacks_pending, alice.complaints) == (0, 1)
    assert (alice.dialled, alice.received, alice.failed) == (None, None, None)
    assert (bob.key, bob.connected, bob.avg_talk_s, bob.avg_wrap_s) == (
        "bob",
        1,
        pytest.approx(59.0),
        pytest.approx(20.0),
    )
    assert (bob.callbacks_pending, bob.dispositions) == (1, {"callback": 1})


async def test_team_stats_scoped_to_team_only_show_it(seeded: asyncpg.Pool) -> None:
    async with seeded.acquire() as conn:
        every = await campaign_report(conn, "Cards", Grouping.TEAM, as_of=AS_OF)
        north = await campaign_report(
            conn,
            "Cards",
            Grouping.TEAM,
            as_of=AS_OF,
            scope=Scope(teams=frozenset({"north"})),
        )

    assert [(r.key, r.connected, r.complaints) for r in every.rows] == [
        ("north", 2, 1),
        ("south", 1, 0),
    ]
    assert [r.key for r in north.rows] == ["north"]
    assert north.rows[0].avg_talk_s == pytest.approx(209.0)


async def test_totals_and_outcome_mix_sum_the_groups(seeded: asyncpg.Pool) -> None:
    async with seeded.acquire() as conn:
        days = await campaign_report(conn, "Cards", Grouping.DAY, as_of=AS_OF)
    total = totals(days.rows)

    assert (total.received, total.dialled, total.connected) == (6, 7, 4)
    assert total.avg_talk_s == pytest.approx(160.0)
    assert by_outcome(days.rows) == {
        "answered": 3,
        "abandoned": 1,
        "busy": 1,
        "no_answer": 1,
        "congestion": 1,
    }


async def test_counters_operator_call_ending_later_counted_once(
    seeded: asyncpg.Pool,
) -> None:
    """Operator and disposition counters follow calls that end after the seed."""
    await seeded.execute(
        "INSERT INTO operator_calls (call_id, campaign_id, contact_id, operator_id,"
        " session_id, bridge_id, wait_ms, bridged_at) VALUES ('a8', 1, 4, 'bob', 2,"
        " 'b8', 100, '2026-03-01 05:10:10Z');"
        "INSERT INTO dispositions (call_id, campaign_id, contact_id, operator_id,"
        " outcome, complaint, created_at) VALUES ('a8', 1, 4, 'bob', 'refused', true,"
        " '2026-03-01 05:10:30Z');"
        "UPDATE operator_calls SET ended_at = '2026-03-01 05:11:10Z' WHERE call_id = 'a8';"
        "UPDATE operator_calls SET ended_at = '2026-03-01 05:11:10Z' WHERE call_id = 'a8';"
    )
    async with seeded.acquire() as conn:
        fast = await campaign_report(conn, "Cards", Grouping.OPERATOR, as_of=AS_OF)
        raw = await campaign_report(
            conn, "Cards", Grouping.OPERATOR, as_of=AS_OF, source="raw"
        )
    bob = fast.rows[1]

    # a8: 60 s with bob; its disposition came before the end, so no wrap-up
    assert (bob.connected, bob.avg_talk_s, bob.avg_wrap_s) == (2, 59.5, 20.0)
    assert (bob.complaints, bob.dispositions) == (1, {"callback": 1, "refused": 1})
    assert [vars(r) for r in fast.rows] == [vars(r) for r in raw.rows]


async def test_counters_attempt_ending_later_counted_once(seeded: asyncpg.Pool) -> None:
    """The trigger counts an attempt when it ends, and only once."""
    await seeded.execute(
        "UPDATE call_attempts SET state = 'ended', outcome = 'no_answer',"
        " ended_at = created_at + interval '30 seconds' WHERE id = 'a8'"
    )
    await seeded.execute("UPDATE call_attempts SET state = 'ended' WHERE id = 'a8'")
    async with seeded.acquire() as conn:
        fast = await campaign_report(conn, "Cards", as_of=AS_OF)
        raw = await campaign_report(conn, "Cards", as_of=AS_OF, source="raw")

    assert fast.rows[0].dialled == 8
    assert fast.rows[0].failed == raw.rows[0].failed
    assert fast.rows[0].failed == {"busy": 1, "no_answer": 2, "congestion": 1}


async def test_campaign_report_unknown_campaign_raises(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(UnknownCampaignError, match="unknown campaign: Nope"):
            await campaign_report(conn, "Nope", as_of=AS_OF)
