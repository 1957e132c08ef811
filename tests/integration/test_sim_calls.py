"""
The simulator's call flows over real HTTP and WebSocket.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest

from engine.sim import Behaviour, Simulator
from engine.sim.testing import RawAri

CALLER = '"Campaign" <74950000000>'


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(
        username="u", password="p", time_scale=0.01, seed=7
    ) as running:
        yield running


@pytest.fixture
async def ari(sim: Simulator) -> AsyncIterator[RawAri]:
    async with RawAri(sim.url, "u", "p", app="capture") as client:
        yield client


async def originate(ari: RawAri, number: str, **params: str) -> dict:
    status, body = await ari.request(
        "POST",
        "/ari/channels",
        params={
            "endpoint": f"PJSIP/{number}@trunk",
            "app": "capture",
            "appArgs": "customer,c1",
            "callerId": CALLER,
            **params,
        },
        json={"variables": {"CAMPAIGN_ID": "k1", "CONTACT_ID": "c1"}},
    )
    assert status == 200

    return body


async def test_trunk_answer_enters_stasis_with_args(
    sim: Simulator, ari: RawAri
) -> None:
    sim.parties.set("8613800000001", Behaviour.answer(after=1.0, hangup_after=5.0))

    channel = await originate(ari, "8613800000001")
    start = await ari.wait_for("StasisStart")
    destroyed = await ari.wait_for("ChannelDestroyed")

    assert channel["state"] == "Down"
    assert channel["channelvars"] == {"CAMPAIGN_ID": "k1", "CONTACT_ID": "c1"}
    assert start["args"] == ["customer", "c1"]
    assert start["channel"]["dialplan"]["app_data"] == "capture,customer,c1"
    statuses = [e["dialstatus"] for e in ari.of_type("Dial")]
    assert statuses == ["", "RINGING", "ANSWER"]
    assert all("caller" not in e for e in ari.of_type("Dial"))
    assert destroyed["cause"] == 16
    assert ari.of_type("ChannelCreated") == []


@pytest.mark.parametrize(
    ("behaviour", "dialstatus", "cause"),
    [
        (Behaviour.busy(after=1.0), "BUSY", 17),
        (Behaviour.congestion(after=1.0), "CONGESTION", 34),
        (Behaviour.rejected(), "NOANSWER", 21),
        (Behaviour.unreachable(after=1.0, code=404), "NOANSWER", 1),
    ],
)
async def test_trunk_refusal_reports_dialstatus_and_cause(
    sim: Simulator, ari: RawAri, behaviour: Behaviour, dialstatus: str, cause: int
) -> None:
    sim.parties.set("861390000*", behaviour)

    await originate(ari, "8613900000002")
    destroyed = await ari.wait_for("ChannelDestroyed")

    assert ari.of_type("Dial")[-1]["dialstatus"] == dialstatus
    assert destroyed["cause"] == cause
    assert destroyed["tech_cause"] == behaviour.sip_code
    assert ari.of_type("StasisStart") == []


async def test_trunk_timeout_destroys_without_final_dial(
    sim: Simulator, ari: RawAri
) -> None:
    sim.parties.default = Behaviour.no_answer()

    await originate(ari, "8613700000003", timeout="10")
    destroyed = await ari.wait_for("ChannelDestroyed")

    assert [e["dialstatus"] for e in ari.of_type("Dial")] == ["", "RINGING"]
    assert (destroyed["cause"], destroyed["cause_txt"]) == (
        19,
        "User alerting, no answer",
    )


async def test_engine_hangup_with_reason_busy_sets_cause_17(
    sim: Simulator, ari: RawAri
) -> None:
    sim.parties.default = Behaviour.answer(after=0.5)
    channel = await originate(ari, "8613700000004")
    await ari.wait_for("StasisStart")

    status, _ = await ari.request(
        "DELETE", f"/ari/channels/{channel['id']}", params={"reason": "busy"}
    )
    destroyed = await ari.wait_for("ChannelDestroyed")
    again, body = await ari.request("GET", f"/ari/channels/{channel['id']}")

    assert status == 204
    assert destroyed["cause"] == 17
    assert (again, body) == (404, {"message": "Channel not found"})
    kinds = [e["type"] for e in ari.events[-4:]]
    assert kinds == [
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelVarset",
        "ChannelDestroyed",
    ]


async def test_bridge_recording_finishes_when_customer_hangs_up(
    sim: Simulator, ari: RawAri
) -> None:
    sim.parties.default = Behaviour.answer(after=1.0, hangup_after=20.0)
    channel = await originate(ari, "8613700000005")
    await ari.wait_for("StasisStart")
    _, bridge = await ari.request("POST", "/ari/bridges", params={"type": "mixing"})
    await ari.request(
        "POST",
        f"/ari/bridges/{bridge['id']}/addChannel",
        params={"channel": channel["id"]},
    )

    status, live = await ari.request(
        "POST",
        f"/ari/bridges/{bridge['id']}/record",
        params={"name": "r1", "format": "wav"},
    )
    finished = await ari.wait_for("RecordingFinished")
    got, stored = await ari.request("GET", "/ari/recordings/stored/r1")
    _, audio = await ari.request("GET", "/ari/recordings/stored/r1/file")

    assert (status, live["state"]) == (201, "queued")
    assert 1 <= finished["recording"]["duration"] <= 20
    assert (got, stored) == (200, {"name": "r1", "format": "wav"})
    assert audio[:4] == b"RIFF"
    assert audio[8:12] == b"WAVE"
    assert len(audio) == 44 + finished["recording"]["duration"] * 16000
    assert ari.of_type("BridgeCreated") == []


async def test_originations_log_every_attempt(sim: Simulator, ari: RawAri) -> None:
    channel = await originate(ari, "8613700000006")
    refused, body = await ari.request(
        "POST", "/ari/channels", params={"endpoint": "PJSIP/6009", "app": "capture"}
    )
    invalid = await ari.request(
        "POST",
        "/ari/channels",
        params={"endpoint": "PJSIP/1@trunk", "app": "capture", "timeout": "soon"},
    )

    first, second, third = sim.originations
    assert (refused, body) == (500, {"error": "Allocation failed"})
    assert invalid == (400, {"message": "timeout must be a number"})
    assert (third.number, third.status, third.channel_id) == ("1", 400, None)
    assert list(sim.channels) == [channel["id"]]
    assert first.number == "8613700000006"
    assert first.channel_id == channel["id"]
    assert first.caller_id == CALLER
    assert first.variables == {"CAMPAIGN_ID": "k1", "CONTACT_ID": "c1"}
    assert first.app_args == ["customer", "c1"]
    assert (second.channel_id, second.status) == (None, 500)


async def test_softphone_answers_when_registered_only(
    sim: Simulator, ari: RawAri
) -> None:
    params = {"endpoint": "PJSIP/6001", "app": "capture", "appArgs": "operator,6001"}
    refused, _ = await ari.request("POST", "/ari/channels", params=params)
    sim.softphones.register("6001", answer_after=0.5)

    status, channel = await ari.request("POST", "/ari/channels", params=params)
    start = await ari.wait_for("StasisStart")

    assert refused == 500
    assert status == 200
    assert channel["name"].startswith("PJSIP/6001-")
    assert channel["caller"] == {"name": "Operator 6001", "number": "6001"}
    assert start["channel"]["id"] == channel["id"]


async def test_wait_connected_returns_once_the_app_socket_is_up() -> None:
    async with Simulator(username="u", password="p", app_names=["eng"]) as sim:
        waiter = asyncio.create_task(sim.wait_connected())
        async with RawAri(sim.url, "u", "p", app="eng"):
            await waiter

        assert sim.pbx.hub.apps["eng"].socket is None


async def test_hold_and_moh_on_a_channel_in_stasis(sim: Simulator, ari: RawAri) -> None:
    sim.parties.default = Behaviour.answer(after=0.5)
    channel = await originate(ari, "8613700000008")
    await ari.wait_for("StasisStart")
    base = f"/ari/channels/{channel['id']}"

    statuses = [
        (await ari.request(method, base + path))[0]
        for method, path in (
            ("POST", "/hold"),
            ("DELETE", "/hold"),
            ("POST", "/moh"),
            ("DELETE", "/moh"),
        )
    ]
    await ari.wait_for("ChannelUnhold")

    assert statuses == [204, 204, 204, 204]
    assert [e["type"] for e in ari.events[-2:]] == ["ChannelHold", "ChannelUnhold"]


async def test_created_trunk_channel_dials_into_its_stasis(
    sim: Simulator, ari: RawAri
) -> None:
    sim.parties.set("8613700000009", Behaviour.answer(after=0.5))
    status, channel = await ari.request(
        "POST",
        "/ari/channels/create",
        params={"endpoint": "PJSIP/8613700000009@trunk", "app": "capture"},
    )
    start = await ari.wait_for("StasisStart")

    dialled, _ = await ari.request("POST", f"/ari/channels/{channel['id']}/dial")
    await ari.wait_for(lambda e: e.get("dialstatus") == "ANSWER")
    again, _ = await ari.request("POST", f"/ari/channels/{channel['id']}/dial")

    assert (status, dialled) == (200, 204)
    assert start["channel"]["state"] == "Down"
    assert [e["dialstring"] for e in ari.of_type("Dial")] == [
        "8613700000009@trunk",
        "",
        "",
    ]
    assert len(ari.of_type("StasisStart")) == 1
    assert again == 409
    assert sim.originations[-1].method == "dial"


async def test_engine_cancel_of_ringing_call_reports_final_dial(
    sim: Simulator, ari: RawAri
) -> None:
    sim.parties.default = Behaviour.no_answer()
    channel = await originate(ari, "8613700000010")
    await ari.wait_for(lambda e: e.get("dialstatus") == "RINGING")

    await ari.request("DELETE", f"/ari/channels/{channel['id']}")
    destroyed = await ari.wait_for("ChannelDestroyed")

    kinds = [(e["type"], e.get("dialstatus")) for e in ari.events[-3:]]
    assert kinds == [
        ("ChannelHangupRequest", None),
        ("Dial", "NOANSWER"),
        ("ChannelDestroyed", None),
    ]
    assert destroyed["cause"] == 16


@pytest.mark.parametrize(
    ("code", "cause", "dialstatus"),
    [(500, 38, "NOANSWER"), (504, 102, "NOANSWER"), (599, 34, "CONGESTION")],
)
async def test_sip_codes_map_as_chan_pjsip_does(
    sim: Simulator, ari: RawAri, code: int, cause: int, dialstatus: str
) -> None:
    sim.parties.default = Behaviour.rejected(after=0.2, code=code)

    await originate(ari, "8613700000011")
    destroyed = await ari.wait_for("ChannelDestroyed")

    assert (destroyed["cause"], destroyed["tech_cause"]) == (cause, code)
    assert ari.of_type("Dial")[-1]["dialstatus"] == dialstatus


async def test_bridge_id_in_use_is_a_conflict(ari: RawAri) -> None:
    first = await ari.request("POST", "/ari/bridges/b1", params={"type": "mixing"})
    again = await ari.request("POST", "/ari/bridges/b1", params={"type": "mixing"})

    assert first[0] == 200
    assert again == (409, {"message": "Bridge with the same bridgeId already exists"})
