"""
Contract tests: every reference trace replayed against the simulator.

Each test replays one ``shared/ari/traces`` file (see ``trace_replay``) and
expects the same statuses, bodies and per-entity event streams, with ids and
times aside and the documented run-to-run variances allowed.
"""

import pytest
from trace_replay import SECRET, SHARED_TRACES, TRACES, USER, run_trace

from engine.sim import Behaviour, Simulator

# name -> replay options. Trace 06 reads the channel list (seq 79) 2 ms after
# the supervisor answered, racing the operator dialplan's next step: the ;2
# halves' dialplan and caller are left out of that one body, and the trace
# runs on a slower clock. Trace 13 starts with the softphone registered, as
# trace 12 left it.
OPTIONS = {
    "00": {},
    "01": {},
    "02": {},
    "03": {},
    "04": {},
    "05": {},
    "06": {"time_scale": 0.5, "racy": (79,)},
    "07": {},
    "08": {},
    "09": {},
    "10": {},
    "11": {},
    "12": {},
    "13": {"registered": ("6001",)},
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
async def test_trace_replay_matches_asterisk(name: str) -> None:
    replay = await run_trace(name, **OPTIONS[name])

    report = "\n".join(str(m) for m in replay.mismatches)
    assert replay.mismatches == [], f"trace {name} differs:\n{report}"
    assert replay.requests == sum(1 for r in replay.records if r["kind"] == "rest")


async def test_trace_replay_busy_party_answering_reports_mismatch() -> None:
    """The harness itself: a simulator that answers where Asterisk said busy."""
    sim = Simulator(username=USER, password=SECRET, time_scale=0.1, seed=1)
    sim.load_trace_dialplan()
    sim.parties.set("79990000002", Behaviour.answer(after=0.1))

    replay = await run_trace("02", sim=sim, wait_limit=0.5)

    wheres = " ".join(m.where for m in replay.mismatches)
    assert "Local/79990000002@sim-customers;1" in wheres
    assert replay.events > 0


def test_trace_copies_are_the_reference_traces() -> None:
    """The repository's copies are every trace, byte for byte."""
    copies = {p.name: p.read_bytes() for p in TRACES.glob("*.jsonl")}
    if not SHARED_TRACES.is_dir():
        pytest.skip("shared/ari/traces is not next to this checkout")
    reference = {p.name: p.read_bytes() for p in SHARED_TRACES.glob("*.jsonl")}

    assert copies == reference
    assert sorted(name[:2] for name in copies) == sorted(OPTIONS)
