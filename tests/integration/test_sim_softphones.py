"""
Softphones (``PJSIP/<ext>``) and endpoint subscriptions in the simulator.
"""

from collections.abc import AsyncIterator

import pytest

from engine.sim import Behaviour, Simulator
from engine.sim.testing import RawAri

OPERATOR = {"endpoint": "PJSIP/6001", "app": "capture", "appArgs": "operator,6001"}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(
        username="u", password="p", time_scale=0.01, seed=3
    ) as running:
        running.softphones.configure("6001")
        yield running


@pytest.fixture
async def ari(sim: Simulator) -> AsyncIterator[RawAri]:
    async with RawAri(sim.url, "u", "p", app="capture") as client:
        yield client


async def test_endpoint_subscription_sees_registration_events(
    sim: Simulator, ari: RawAri
) -> None:
    status, app = await ari.request(
        "POST",
        "/ari/applications/capture/subscription",
        params={"eventSource": "endpoint:PJSIP/6001"},
    )
    sim.softphones.register("6001")
    contact = await ari.wait_for("ContactStatusChange")
    _, endpoint = await ari.request("GET", "/ari/endpoints/PJSIP/6001")

    assert status == 200
    assert app["endpoint_ids"] == ["PJSIP/6001"]
    assert [e["type"] for e in ari.events] == [
        "EndpointStateChange",
        "PeerStatusChange",
        "ContactStatusChange",
    ]
    assert ari.events[1]["peer"] == {"peer_status": "Reachable"}
    assert contact["contact_info"]["contact_status"] == "NonQualified"
    assert endpoint["state"] == "online"


async def test_both_subscriptions_duplicate_channel_events_only(
    sim: Simulator, ari: RawAri
) -> None:
    sim.softphones.register("6001", answer_after=0.5)
    await ari.request(
        "POST",
        "/ari/applications/capture/subscription",
        params={"eventSource": "endpoint:PJSIP/6001"},
    )

    await ari.request("POST", "/ari/channels", params=OPERATOR)
    await ari.wait_for("StasisStart")

    types = [e["type"] for e in ari.events]
    assert types.count("ChannelCreated") == 1
    assert [e["dialstatus"] for e in ari.of_type("Dial")] == [
        "",
        "",
        "RINGING",
        "RINGING",
        "ANSWER",
        "ANSWER",
    ]
    assert types.count("StasisStart") == 1


async def test_scripted_reject_then_next_call_answers(
    sim: Simulator, ari: RawAri
) -> None:
    sim.softphones.register("6001", answer_after=0.5)
    sim.softphones.next_call("6001", Behaviour.rejected(after=0.5, code=486))

    await ari.request("POST", "/ari/channels", params=OPERATOR)
    refused = await ari.wait_for("ChannelDestroyed")
    await ari.request("POST", "/ari/channels", params=OPERATOR)
    start = await ari.wait_for("StasisStart")

    assert (refused["cause"], refused["tech_cause"]) == (17, 486)
    assert ari.of_type("Dial")[2]["dialstatus"] == "BUSY"
    assert start["args"] == ["operator", "6001"]


async def test_softphone_hangup_ends_call_from_far_end(
    sim: Simulator, ari: RawAri
) -> None:
    sim.softphones.register("6001", answer_after=0.2)
    await ari.request("POST", "/ari/channels", params=OPERATOR)
    await ari.wait_for("StasisStart")

    ended = sim.softphones.hangup("6001")
    destroyed = await ari.wait_for("ChannelDestroyed")

    request = ari.of_type("ChannelHangupRequest")[0]
    assert ended == 1
    assert request["cause"] == 16
    assert "soft" not in request
    assert ari.of_type("StasisEnd") != []
    assert destroyed["cause"] == 16


async def test_unregistered_or_unknown_softphone_fails_allocation(
    sim: Simulator, ari: RawAri
) -> None:
    sim.softphones.register("6001")
    sim.softphones.unregister("6001")

    offline = await ari.request("POST", "/ari/channels", params=OPERATOR)
    unknown = await ari.request(
        "POST", "/ari/channels", params={**OPERATOR, "endpoint": "PJSIP/6002"}
    )

    assert offline == (500, {"error": "Allocation failed"})
    assert unknown == (500, {"error": "Allocation failed"})
