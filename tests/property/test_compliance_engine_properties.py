"""
Properties of the whole engine: the dialer, its compliance gate, the ARI
client and the simulator, on a controllable clock.

Hypothesis draws a campaign in some kind of call (often with a narrowed
window), contacts in many zones with scripted behaviours (answer, busy, no
answer, reject), and a run: a start instant near a daylight-saving change or
a holiday, then clock jumps of seconds to days, each possibly adding or
removing do-not-call entries or revoking the caller id. The real engine
(``build_engine`` with a ``FakeClock``) dials against the simulator; after
each jump the test waits until the engine has dealt with every due contact.

Then the simulator's own log of placed calls (originations it answered
with 200) is judged by the independent oracle: every one had a passing gate
decision (and a call_attempts row), used the approved caller id while it was
approved, went to no number suppressed at that moment, rang out inside the
window in every zone of the number (its explicit zone column when drawn), and
no number got more calls than the limits allow.

So that the rules cannot hold vacuously, each example also checks that every
contact the oracle finds dialable at the start instant was dialled then, and
the module's tally (checked when the last example has run) requires that calls
were actually placed across the run.
"""

import asyncio
import contextlib
import dataclasses
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from compliance_oracle import World
from hypothesis import event, given, settings, target
from hypothesis import strategies as st
from test_compliance_gate_properties import (
    ANCHORS,
    CALLER_ID,
    EXPLICIT_ZONES,
    PHONES,
    _act,
    _spec,
    _world,
    narrowed_windows,
)

from engine.ari import AriClient
from engine.clock import FakeClock
from engine.compliance import callerids
from engine.compliance.calendar import set_date
from engine.compliance.gate import ComplianceGate
from engine.compliance.windows import DEFAULT_WINDOWS
from engine.dialer.engine import build_engine
from engine.dialer.models import Campaign, Contact
from engine.dialer.seams import GateDecision, Stage
from engine.settings import Settings
from engine.sim import Behaviour, Simulator

BEHAVIOURS = {
    "answer": Behaviour.answer(after=2.0, hangup_after=5.0),
    "busy": Behaviour.busy(after=1.0),
    "no_answer": Behaviour.no_answer(),
    "rejected": Behaviour.rejected(after=2.0),
}
# Examples run and calls placed over the whole property run (see ``tally``).
TALLY: Counter[str] = Counter()


class RecordingGate:
    """The compliance gate, remembering the instant of every passed originate."""

    def __init__(self, gate: ComplianceGate) -> None:
        self.gate = gate
        self.passed: dict[int, list[datetime]] = defaultdict(list)

    async def check(
        self,
        conn: asyncpg.Connection,
        campaign: Campaign,
        contact: Contact,
        now: datetime,
        stage: Stage,
    ) -> GateDecision:
        """Ask the real gate; note the passes at the originate stage."""
        decision = await self.gate.check(conn, campaign, contact, now, stage)
        if decision.allowed and stage == "originate":
            self.passed[contact.id].append(now)

        return decision


@st.composite
def runs(draw: st.DrawFn) -> dict[str, Any]:
    """A campaign with scripted contacts and a run of clock jumps."""
    kind = draw(st.sampled_from(tuple(DEFAULT_WINDOWS)))
    contacts = draw(
        st.lists(
            st.tuples(st.sampled_from(PHONES), st.sampled_from(EXPLICIT_ZONES)),
            min_size=2,
            max_size=6,
            unique_by=lambda c: c[0],
        )
    )
    phones = [phone for phone, _ in contacts]
    start = draw(st.sampled_from(ANCHORS)) + timedelta(
        minutes=draw(st.integers(-2 * 1440, 2 * 1440))
    )
    steps = draw(
        st.lists(
            st.tuples(
                st.one_of(
                    # Jump to the next contact due (a window opening, a retry),
                    # plus up to a few minutes; or jump by seconds to days.
                    st.tuples(st.just("due"), st.integers(0, 300)),
                    st.tuples(st.just("due"), st.integers(0, 5)),
                    st.tuples(st.just("jump"), st.integers(60, 3600)),
                    st.tuples(st.just("jump"), st.integers(3600, 2 * 86400)),
                ),
                st.one_of(
                    st.none(),
                    st.tuples(
                        st.just("dnc_add"),
                        st.integers(0, len(PHONES) - 1),
                        st.sampled_from(("all", kind)),
                        st.one_of(st.none(), st.integers(600, 86400)),
                    ),
                    st.tuples(st.just("dnc_remove"), st.integers(0, len(PHONES) - 1)),
                    st.tuples(st.just("caller_id"), st.booleans()),
                ),
            ),
            min_size=3,
            max_size=8,
        )
    )

    return {
        "kind": kind,
        "window": draw(narrowed_windows(kind)),
        "campaign_zone": "Asia/Shanghai",
        "call_on_holidays": draw(st.booleans()),
        "ring": draw(st.sampled_from((20, 30, 60))),
        "max_attempts": draw(st.integers(1, 4)),
        "per_day": draw(st.integers(1, 3)),
        "gap": draw(st.sampled_from((0, 120, 900))),
        "contacts": contacts,
        "behaviours": {p: draw(st.sampled_from(tuple(BEHAVIOURS))) for p in phones},
        "start": start,
        "steps": steps,
        "own_dates": draw(
            st.dictionaries(
                st.tuples(
                    st.dates(
                        start.date() - timedelta(days=1),
                        start.date() + timedelta(days=6),
                    ),
                    st.sampled_from(("*", "CN", "US")),
                ),
                st.sampled_from(("closed", "open")),
                max_size=2,
            )
        ),
    }


async def _setup(conn: asyncpg.Connection, run: dict[str, Any]) -> int:
    await conn.execute(
        "TRUNCATE campaigns, contacts, dnc_entries, approved_caller_ids,"
        " institution_dates, audit_log, phone_last_dial, engines"
        " RESTART IDENTITY CASCADE"
    )
    await callerids.approve(conn, CALLER_ID, label="", actor="t")
    for (day, country), status in run["own_dates"].items():
        await set_date(conn, day, status, country=country, reason="t", actor="t")
    own = {"call_on_holidays": run["call_on_holidays"]}
    if run["window"] is not None:
        own["calling_window"] = _spec(run["window"])
    campaign_id: int = await conn.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id, max_attempts, ring_timeout_s,"
        " timezone, settings, state, calls_per_second, retry_delays)"
        " VALUES ('p', $1, $2, $3, $4, $5, $6, 'running', 50, $7) RETURNING id",
        run["kind"],
        CALLER_ID,
        run["max_attempts"],
        run["ring"],
        run["campaign_zone"],
        own,
        {"busy": 120, "no_answer": 600, "rejected": 300},
    )
    await conn.executemany(
        "INSERT INTO contacts (campaign_id, phone, timezone, next_attempt_at)"
        " VALUES ($1, $2, $3, $4)",
        [
            (campaign_id, p, zone, run["start"] - timedelta(hours=1))
            for p, zone in run["contacts"]
        ],
    )

    return campaign_id


async def _settled(pool: asyncpg.Pool, now: datetime) -> bool:
    """True when nothing is due, leased or in progress at ``now``."""
    busy = await pool.fetchval(
        "SELECT (SELECT count(*) FROM contacts WHERE state = 'leased'"
        "   OR (state = 'pending' AND next_attempt_at <= $1))"
        " + (SELECT count(*) FROM call_attempts WHERE state <> 'ended')",
        now,
    )
    return busy == 0


async def _wait_settled(
    pool: asyncpg.Pool, now: datetime, nudge: asyncio.Event
) -> None:
    for _ in range(400):
        nudge.set()
        if await _settled(pool, now):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"engine did not settle at {now}")


async def _next_instant(
    pool: asyncpg.Pool, clock: FakeClock, how: str, seconds: int
) -> datetime:
    """Where the clock goes next: ``seconds`` on, or to the next due plus them."""
    target = clock.now()
    if how == "due":
        due = await pool.fetchval(
            "SELECT min(next_attempt_at) FROM contacts WHERE state = 'pending'"
        )
        if due is not None and due > target:
            target = due

    return target + timedelta(seconds=seconds)


async def _no_earlier_example_running() -> None:
    """
    Fail clearly if a task of an earlier example still runs in this loop.

    pytest-timeout's alarm can raise out of the event loop mid-example;
    Hypothesis then runs further examples in the same loop, where the
    interrupted one's engine and clock steps would go on against the shared
    database (and its campaign ids) and make a correct engine look wrong,
    e.g. an origination whose attempt row a later TRUNCATE took away.
    """
    current = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not current]
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)
    assert not left, f"an interrupted earlier example was still running: {left}"


def _settings(run: dict[str, Any], sim: Simulator, db_dsn: str, tmp: Path) -> Settings:
    return Settings(
        database_url=db_dsn,
        ari_url=sim.url,
        ari_app="outdial",
        engine_id=f"prop-{uuid.uuid4().hex[:6]}",
        lease_seconds=30,
        recordings_dir=tmp / "recordings",
        drain_seconds=10,
        dial_template="PJSIP/{number}@trunk",
        answer_media="sound:hello-world",
        max_attempts_per_day=run["per_day"],
        min_call_gap_s=run["gap"],
    )


async def _drive(
    run: dict[str, Any], pool: asyncpg.Pool, settings: Settings, world: World
) -> RecordingGate:
    """Run the engine through the clock jumps; return the recording gate."""
    clock = FakeClock(run["start"])
    gate = RecordingGate(ComplianceGate(settings))
    ari = AriClient.from_settings(settings)
    engine = build_engine(settings, pool, ari, clock, gates=[gate])
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    try:
        await _wait_settled(pool, clock.now(), engine.pacer.changed)
        for (how, seconds), action in run["steps"]:
            # The oracle holds a rule changed at ``at`` in force from ``at`` on,
            # so the change is committed before the running engine's clock can
            # show ``at`` (the engine has nothing due before it: it settled).
            at = await _next_instant(pool, clock, how, seconds)
            async with pool.acquire() as conn:
                await _act(conn, world, action, at)
            clock.set(at)
            await _wait_settled(pool, clock.now(), engine.pacer.changed)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)
        await ari.close()

    return gate


def _placed(sim: Simulator) -> list[Any]:
    """The calls the simulator actually placed: originates it answered 200."""
    return [o for o in sim.originations if o.method == "originate" and o.status == 200]


def _judge(
    run: dict[str, Any], world: World, sim: Simulator, gate: RecordingGate, rows: Any
) -> int:
    """Judge every placed call and every gate pass; return the placed count."""
    zones = dict(run["contacts"])
    attempt = {r["id"]: r for r in rows}
    placed = _placed(sim)
    per_contact: dict[int, int] = defaultdict(int)
    placed_at: dict[str, list[datetime]] = defaultdict(list)
    for origination in placed:
        assert origination.channel_id in attempt, "origination without an attempt row"
        row = attempt[origination.channel_id]
        phone, at = row["phone"], row["originated_at"]
        assert origination.number == phone.lstrip("+")
        assert origination.caller_id == CALLER_ID
        # Judged again at the engine-clock instant the originate was sent.
        assert world.caller_id_ok_at(at), f"originate at {at}: caller id revoked"
        assert not world.suppressed(phone, run["kind"], at), f"originate at {at}: DNC"
        why = world.window_violation(phone, zones[phone], at)
        assert not why, f"originate at {at} outside the window: {why}"
        per_contact[row["contact_id"]] += 1
        placed_at[phone].append(at)
    for contact_id, count in per_contact.items():
        assert count <= len(gate.passed[contact_id]), "a call the gate never passed"
    # The attempt limits, on the simulator's log of placed calls itself.
    on_log = dataclasses.replace(world, dials=placed_at)
    for phone, zone in run["contacts"]:
        why = on_log.limit_violation(phone, zone)
        assert not why, f"placed calls to {phone} break the limits: {why}"
    phones = {r["contact_id"]: r["phone"] for r in rows}
    for contact_id, times in gate.passed.items():
        phone = phones.get(contact_id)
        if phone is None:
            continue
        for at in times:
            assert world.caller_id_ok_at(at), f"dial at {at} with unapproved caller id"
            assert not world.suppressed(phone, run["kind"], at), f"dial at {at} to DNC"
            why = world.window_violation(phone, zones[phone], at)
            assert not why, f"dial at {at} outside the window: {why}"
            world.dials[phone].append(at)
        why = world.limit_violation(phone, zones[phone])
        assert not why, f"limits broken for {phone}: {why}"

    return len(placed)


def _check_started(run: dict[str, Any], world: World, sim: Simulator, rows: Any) -> int:
    """
    Every contact dialable at the start instant was dialled then.

    At the start nothing is suppressed, the caller id is approved and no limit
    is used, so the oracle's window alone says who must be called; the clock
    stands still until the engine settles, so those calls carry the start.
    Returns how many contacts were dialable.
    """
    start = run["start"]
    dialable = {
        phone
        for phone, zone in run["contacts"]
        if not world.window_violation(phone, zone, start)
    }
    placed = {o.channel_id for o in _placed(sim)}
    dialled = {
        r["phone"] for r in rows if r["id"] in placed and r["originated_at"] == start
    }
    missed = dialable - dialled
    assert not missed, f"dialable at {start} but never dialled: {sorted(missed)}"

    return len(dialable)


@pytest.fixture(scope="module")
def tally() -> Iterator[Counter[str]]:
    """The run's totals; after the last example, calls must have been placed."""
    yield TALLY
    if TALLY["examples"]:
        assert TALLY["placed"] > 0, f"no call placed in the whole run: {TALLY}"
        assert TALLY["dialable_at_start"] > 0, f"nothing ever dialable: {TALLY}"
        assert TALLY["with_calls"] * 2 >= TALLY["examples"], f"mostly idle: {TALLY}"


# 20 examples of a real engine take 20-50 s depending on the machine's load;
# the global 120 s would leave little margin, and an alarm mid-example fails
# the run (see _no_earlier_example_running). This bounds a hang.
@pytest.mark.timeout(300)
@settings(max_examples=20)
@given(run=runs())
async def test_engine_originations_obey_every_rule(
    pool: asyncpg.Pool,
    db_dsn: str,
    tmp_path: Path,
    tally: Counter[str],
    run: dict[str, Any],
) -> None:
    await _no_earlier_example_running()
    world = _world(run)
    async with pool.acquire() as conn:
        await _setup(conn, run)
    async with Simulator(
        username="outdial", password="outdial", time_scale=0.01, seed=3
    ) as sim:
        for phone, behaviour in run["behaviours"].items():
            sim.parties.set(phone.lstrip("+"), BEHAVIOURS[behaviour])
        settings_ = _settings(run, sim, db_dsn, tmp_path)
        gate = await _drive(run, pool, settings_, world)
        rows = await pool.fetch(
            "SELECT id, phone, contact_id, originated_at FROM call_attempts"
        )

        dialled = _judge(run, world, sim, gate, rows)
        dialable = _check_started(run, world, sim, rows)

    tally.update(
        examples=1,
        placed=dialled,
        dialable_at_start=dialable,
        with_calls=int(dialled > 0),
    )
    target(float(dialled), label="placed calls")
    event(f"originations: {min(dialled, 5)}{'+' if dialled >= 5 else ''}")
