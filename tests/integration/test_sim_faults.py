"""
Fault injection and restarts of the simulator.
"""

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from engine.sim import Behaviour, Simulator
from engine.sim.testing import RawAri

CUSTOMER = {"endpoint": "PJSIP/8613800000001@trunk", "app": "capture"}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(
        username="u", password="p", time_scale=0.01, seed=5
    ) as running:
        running.parties.default = Behaviour.answer(after=0.5)
        yield running


@pytest.fixture
async def ari(sim: Simulator) -> AsyncIterator[RawAri]:
    async with RawAri(sim.url, "u", "p", app="capture") as client:
        yield client


async def test_dropped_websocket_keeps_calls(sim: Simulator, ari: RawAri) -> None:
    _, channel = await ari.request("POST", "/ari/channels", params=CUSTOMER)
    await ari.wait_for("StasisStart")

    sim.faults.drop_websockets()
    await ari.wait_closed()
    status, again = await ari.request("GET", f"/ari/channels/{channel['id']}")

    assert status == 200
    assert again["state"] == "Up"
    assert not sim.pbx.hub.registered("capture")


async def test_restart_drops_calls_and_changes_asterisk_id(
    sim: Simulator, ari: RawAri
) -> None:
    await ari.request("POST", "/ari/channels", params=CUSTOMER)
    await ari.request("POST", "/ari/bridges", params={"type": "mixing"})
    before = sim.asterisk_id

    await sim.restart()
    await ari.wait_closed()
    channels = await ari.request("GET", "/ari/channels")
    bridges = await ari.request("GET", "/ari/bridges")
    _, ping = await ari.request("GET", "/ari/asterisk/ping")

    assert channels == (200, [])
    assert bridges == (200, [])
    assert ping["asterisk_id"] == sim.asterisk_id != before


async def test_fail_rest_fails_the_given_number_of_times(
    sim: Simulator, ari: RawAri
) -> None:
    sim.faults.fail_rest("POST /ari/channels$", status=503, times=2)

    statuses = [
        (await ari.request("POST", "/ari/channels", params=CUSTOMER))[0]
        for _ in range(3)
    ]
    other = await ari.request("GET", "/ari/asterisk/ping")

    assert statuses == [503, 503, 200]
    assert other[0] == 200
    assert len(sim.originations) == 1


async def test_delayed_rest_answers_after_a_later_request(
    sim: Simulator, ari: RawAri
) -> None:
    sim.faults.delay_rest("GET /ari/bridges$", 0.3)
    finished: list[str] = []

    async def call(path: str) -> None:
        await ari.request("GET", path)
        finished.append(path)

    slow = asyncio.create_task(call("/ari/bridges"))
    await asyncio.sleep(0)
    await call("/ari/channels")
    await slow

    assert finished == ["/ari/channels", "/ari/bridges"]


async def test_restart_with_downtime_refuses_then_serves_same_port(
    sim: Simulator, ari: RawAri
) -> None:
    port = sim.port
    restarting = asyncio.create_task(sim.restart(down_for=0.3))
    await ari.wait_closed()
    with pytest.raises(aiohttp.ClientConnectionError):
        await ari.request("GET", "/ari/asterisk/ping")
    await restarting

    status, _ = await ari.request("GET", "/ari/asterisk/ping")

    assert sim.port == port
    assert status == 200


async def test_failed_upgrade_is_refused_with_the_injected_status(
    sim: Simulator,
) -> None:
    sim.faults.fail_rest("GET /ari/events", status=503, times=1)
    client = RawAri(sim.url, "u", "p", app="capture")

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.__aenter__()
    await client.close()
    async with RawAri(sim.url, "u", "p", app="capture"):
        registered = sim.pbx.hub.registered("capture")

    assert refused.value.status == 503
    assert registered
