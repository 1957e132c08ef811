"""
An ARI-compatible Asterisk 22 simulator for tests, the demo and benchmarks.

It speaks ARI over real HTTP and WebSocket, faithful to the reference traces
in ``shared/ari/traces`` (status codes, error bodies, events, ids, ordering,
causes). Python API::

    from engine.sim import Simulator, Behaviour, RandomModel

    sim = Simulator(username="outdial", password="outdial", time_scale=0.01, seed=1)
    await sim.start(host="127.0.0.1", port=0)     # sim.url: "http://127.0.0.1:PORT"
    sim.parties.set("8613800000001", Behaviour.answer(after=1.0, hangup_after=20.0))
    sim.parties.set("86139*", Behaviour.busy())    # shell pattern, or re.compile(...)
    sim.parties.default = RandomModel(answer_rate=0.6, ring=(2, 10), talk=(10, 60))
    Behaviour.no_answer() / .congestion() / .rejected(code=603) / .unreachable(code=480)
    sim.softphones.register("6001", answer_after=0.5)   # PJSIP/6001 online
    sim.softphones.script("6001", Behaviour.rejected(code=486))  # every next call
    sim.softphones.next_call("6001", Behaviour.no_answer())       # one call
    sim.softphones.hangup("6001")                  # the operator hangs up (BYE)
    sim.softphones.unregister("6001")              # then: 500 Allocation failed
    sim.hangup_far_end(channel_id, cause=16)       # a customer hangs up
    Behaviour.answer(after=1.0, dtmf="4")  # presses 4 after a prompt ends
    sim.press_dtmf(channel_id, "4")        # ChannelDtmfReceived on the channel
    await sim.wait_connected("outdial")            # an events socket serves the app
    sim.snoops        # [Snoop(snoop_id, target_id, spy, whisper, app_args)]
    sim.originations  # [Origination(at, endpoint, number, caller_id, variables,
                      #   channel_id, app_args, method, status, app, wall_at)]
                      # every POST /channels (status 200 or the error) and every
                      # /dial of a created channel (method="dial")
    sim.faults.drop_websockets(); await sim.restart(down_for=0.5)  # port refused 0.5 s
    sim.faults.fail_rest("GET /ari/events", status=503, times=3)  # refused upgrades
    sim.faults.delay_rest("POST /ari/channels$", 0.5)   # wall seconds
    sim.faults.fail_rest("/record$", status=500, times=1)
    sim.load_trace_dialplan()   # numbers 7999000000N behave as in the traces
    await sim.stop()            # also: async with Simulator(...) as sim

``time_scale`` multiplies every simulated delay; timestamps, ids and
recording durations are in simulated time (with 0.01 the simulated clock
runs 100 times faster than the wall clock). Other knobs: ``sim.sounds``
(known sound lengths; others play ``failed``), ``sim.globals`` (global
variables), ``sim.channels`` (live channels), ``Simulator(channelvars=...,
recordings_dir=..., trunks={...})``. ``engine.sim.testing.RawAri`` is a raw
HTTP + WebSocket client for tests that want the wire view. Endpoints:
``PJSIP/<number>@<trunk>`` (customer through a trunk, party rules),
``Local/<number>@sim-customers`` and ``Local/<ext>@sim-operators`` (Local
pairs with a ``;2`` half running the test dialplan; ``sim.local_contexts``
maps more context names), ``PJSIP/<ext>`` (softphone).

HTTP control API (same credentials as ARI, JSON bodies)::

    GET    /_sim/state                       summary
    GET    /_sim/originations?since=N        origination log from index N
    GET    /_sim/parties                     rules and default
    PUT    /_sim/parties/default             {"behaviour": {...}} | {"random": {...}}
    POST   /_sim/parties/rules               {"match": "7999*", "behaviour": {...}}
    DELETE /_sim/parties/rules
    POST   /_sim/parties/trace-dialplan
    POST   /_sim/softphones/{ext}/register   {"answer_after": 0.5}
    POST   /_sim/softphones/{ext}/unregister | configure | hangup
    POST   /_sim/softphones/{ext}/script     {"behaviour": {...} | null}
    POST   /_sim/softphones/{ext}/next_call  {"behaviour": {...}}
    POST   /_sim/channels/{id}/far-hangup    {"cause": 16}
    POST   /_sim/faults/drop-websockets
    POST   /_sim/faults/delay                {"pattern": "...", "seconds": 0.5}
    POST   /_sim/faults/fail                 {"pattern": "...", "status": 500, "times": 1}
    GET    /_sim/faults;  DELETE /_sim/faults
    POST   /_sim/restart                     {"down_for": 0.5} optional

A behaviour as JSON: ``{"kind": "answer", "after": 1.0, "hangup_after": 20}``
(kinds: answer, busy, congestion, no_answer, rejected, unreachable; optional
``sip_code``, ``dtmf``). A random model: ``{"answer_rate": 0.6, "ring": [2, 10],
"talk": [10, 60], "failures": {"busy": 0.3, "no_answer": 0.5}}``.

Command line: ``outdial sim --host 127.0.0.1 --port 8088 --time-scale 1``
(``--softphone 6001``, ``--answer-rate 0.6``, ``--trace-dialplan``,
``--recordings-dir DIR``, ``--seed N``; credentials from OUTDIAL_ARI_*).
"""

from engine.sim.parties import Behaviour, RandomModel
from engine.sim.simulator import Simulator

__all__ = ["Behaviour", "RandomModel", "Simulator"]
