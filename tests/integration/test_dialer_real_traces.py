"""
The dialer against real Asterisk 22 event sequences, not the simulator's.

A ``TraceServer`` replays the recorded traces (``tests/contract/traces``) over
real ARI HTTP and WebSocket, with the ids the engine chose in place of
Asterisk's; the real engine (``build_engine``, a real ``AriClient``, the test
database) dials one contact, and the test checks what the dialer wrote to
``call_attempts``: outcome, dialstatus and hangup cause, as in the table of
``shared/ari/README.md``. Every trace runs three times: its events sent
before each REST answer, sent after it (the two orders Asterisk shows), and
split as the trace client saw them, at the recorded pace (compressed).
"""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr
from trace_server import Order, TraceServer, from_originate, load_trace

from engine.ari import AriClient, Event
from engine.clock import FakeClock
from engine.dialer.calls import Call
from engine.dialer.engine import Engine, build_engine
from engine.settings import Settings

# How long a server waits for the engine to handle events it sent before it
# answers the request: long enough on a loaded machine, short enough when a
# handler is itself waiting for this answer (then the wait runs out).
SETTLE_S = 0.3
POLL_S = 0.005
# The recorded order also keeps the recorded gaps, 50 times shorter: the
# customer of trace 01 hangs up 0.4 s after the answer, while the answer
# handler runs, as on a real call.
RECORDED_TIME_SCALE = 0.02


@dataclass(frozen=True)
class Case:
    """One recorded call and what the dialer must make of it."""

    trace: str
    originate: int
    outcome: str
    dialstatus: str | None
    cause: int | None

    @property
    def id(self) -> str:
        """The test id: trace, which call of it, expected outcome."""
        return f"{self.trace}.{self.originate}-{self.outcome}"


CASES = (
    Case("01", 0, "answered", "ANSWER", 16),
    Case("02", 0, "busy", "BUSY", 0),
    # The timeout sends no final Dial: RINGING is the last dialstatus there is.
    Case("03", 0, "no_answer", "RINGING", 19),
    Case("04", 0, "congestion", "CONGESTION", 0),
    # Local/...@no-such-context: accepted (200), destroyed at once with cause
    # 0 and no Dial at all; nothing says the party was even tried.
    Case("07", 3, "failed", None, 0),
    Case("08", 0, "answered", "ANSWER", 16),
    Case("10", 0, "rejected", "NOANSWER", 21),
    Case("13", 0, "busy", "BUSY", 17),  # 486 Busy Here
    Case("13", 1, "rejected", "NOANSWER", 21),  # 603 Decline
    Case("13", 2, "congestion", "CONGESTION", 34),  # 503 Service Unavailable
    Case("13", 3, "no_answer", "NOANSWER", 19),  # 480 Temporarily Unavailable
    Case("13", 4, "unreachable", "NOANSWER", 1),  # 404 Not Found
    Case("13", 5, "no_answer", "RINGING", 19),  # rings past timeout=5
    Case("13", 6, "failed", None, None),  # unregistered: 500 Allocation failed
)


class Hold:
    """Keeps an answered customer on the line until they hang up (traces 01, 08)."""

    async def on_answered(self, call: Call) -> None:
        await call.ended.wait()


class Watch:
    """
    Paces the trace server on what the engine has done, and remembers the order.

    Waits are bounded (``SETTLE_S``): a handler may itself be waiting for the
    very answer the server holds back, which Asterisk would not do.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.handled = 0
        # events first: the attempt had ended before the originate's answer
        self.ended_before_answer: bool | None = None
        # answer first: the engine had the originate's answer before any event
        self.answer_before_events: bool | None = None
        engine.ari.on("*", self._seen)

    async def _seen(self, event: Event) -> None:
        self.handled += 1

    async def settle(self, kind: str, sent: int) -> None:
        """Wait until every event sent so far was handled."""
        await self._until(lambda: self.handled >= sent)
        if kind == "originate":
            self.ended_before_answer = len(self.engine.registry) == 0

    async def answered(self, kind: str) -> None:
        """Wait until the engine took in the originate's answer."""
        if kind != "originate":
            return
        calls = list(self.engine.registry)
        await self._until(lambda: all(c.originate_done for c in calls))
        self.answer_before_events = bool(calls) and all(c.originate_done for c in calls)

    async def _until(self, check: Callable[[], bool]) -> None:
        for _ in range(int(SETTLE_S / POLL_S)):
            if check():
                return
            await asyncio.sleep(POLL_S)


@pytest.fixture(params=["events-first", "answer-first", "recorded"])
def order(request: pytest.FixtureRequest) -> Order:
    """Whether a request's events reach the engine before its answer."""
    value: Order = request.param

    return value


def dialled(records: list[dict[str, Any]]) -> tuple[str, str]:
    """
    The dial template and number that make the engine dial what the trace did.

    A SIP phone's extension (``PJSIP/6001``) is no E.164 number: the template
    is then the endpoint itself, as for one fixed test line.
    """
    endpoint = next(r for r in records if r["kind"] == "rest")["query"]["endpoint"]
    match = re.fullmatch(r"(\w+/)(\d{8,15})(@.*)?", endpoint)
    if match is None:
        return endpoint, "79990000001"
    tech, number, context = match.groups()

    return f"{tech}{{number}}{context or ''}", number


async def campaign(pool: asyncpg.Pool, number: str) -> int:
    """A running campaign with one contact due now."""
    campaign_id: int = await pool.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id, state, calls_per_second,"
        " max_concurrent) VALUES ('traces', 'survey', '95555', 'running', 50, 1)"
        " RETURNING id"
    )
    await pool.execute(
        "INSERT INTO contacts (campaign_id, phone, next_attempt_at)"
        " VALUES ($1, $2, now() - interval '1 minute')",
        campaign_id,
        f"+{number}",
    )

    return campaign_id


@contextlib.asynccontextmanager
async def running(
    server: TraceServer,
    dial_template: str,
    db_dsn: str,
    pool: asyncpg.Pool,
    tmp_path: Path,
) -> AsyncIterator[Watch]:
    """The real engine on the trace server, running until the block ends."""
    settings = Settings(
        database_url=SecretStr(db_dsn),
        ari_url=server.url,
        ari_app="capture",
        dial_template=dial_template,
        engine_id="trace-engine",
        lease_seconds=10,
        recordings_dir=tmp_path / "recordings",
        drain_seconds=5,
    )
    ari = AriClient.from_settings(settings)
    clock = FakeClock(datetime.now(UTC))
    engine = build_engine(settings, pool, ari, clock, gates=(), answer_handler=Hold())
    watch = server.pacing = Watch(engine)
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    try:
        yield watch
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await ari.close()


async def attempt_when_settled(pool: asyncpg.Pool, answered: bool) -> dict[str, Any]:
    """The one attempt row once it ended (and, if answered, was archived)."""
    async with asyncio.timeout(20):
        while True:
            row = await pool.fetchrow(
                "SELECT a.*, r.state AS recording_state FROM call_attempts a"
                " LEFT JOIN recordings r ON r.attempt_id = a.id"
            )
            ended = row is not None and row["state"] == "ended"
            if ended and (not answered or row["recording_state"] == "archived"):
                return dict(row)
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_dialer_real_trace_outcome_matches_asterisk_table(
    case: Case,
    order: Order,
    db_dsn: str,
    pool: asyncpg.Pool,
    tmp_path: Path,
) -> None:
    records = from_originate(load_trace(case.trace), case.originate)
    scale = RECORDED_TIME_SCALE if order == "recorded" else 0.0
    server = TraceServer(records, order=order, time_scale=scale)
    await server.start()
    try:
        template, number = dialled(records)
        await campaign(pool, number)
        async with running(server, template, db_dsn, pool, tmp_path) as watch:
            row = await attempt_when_settled(pool, case.outcome == "answered")
    finally:
        await server.stop()

    assert (row["outcome"], row["dialstatus"], row["hangup_cause"]) == (
        case.outcome,
        case.dialstatus,
        case.cause,
    )
    assert server.requests.count(("POST", "/ari/channels")) == 1
    assert server.endpoints == [records[0]["query"]["endpoint"]]
    assert server.unexpected == []
    # The engine made every request of the call the trace client made (an
    # endpoint subscription is the trace client's own business).
    assert {segment.kind for segment in server.segments} <= {"subscribe"}
    # The trace's own ids were replaced by the engine's in what was sent.
    mine = [
        e
        for e in server.sent
        if (e.get("peer") or e.get("channel") or {}).get("id") == row["id"]
    ]
    assert case.outcome == "failed" or mine, "no event about the engine's channel"
    if case.outcome == "answered":
        assert row["recording_state"] == "archived"
        assert row["bridge_id"] == f"bridge-{row['id']}"
    # The order this run was about really happened (a call that is never
    # answered ends on its events alone, so they all came before the answer).
    if order == "events-first" and case.outcome not in ("answered", "failed"):
        assert watch.ended_before_answer is True
    if order == "answer-first" and case.outcome != "failed":
        assert watch.answer_before_events is True
    if case.outcome == "failed" and case.cause is None:
        assert "Allocation failed" in row["hangup_cause_txt"]
