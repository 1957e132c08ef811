"""
The simulator driven over HTTP (``/_sim``) and from the ``outdial sim`` command.
"""

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from engine.sim import RandomModel, Simulator
from engine.sim.testing import RawAri


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(
        username="u", password="p", time_scale=0.01, seed=9
    ) as running:
        yield running


@pytest.fixture
async def ari(sim: Simulator) -> AsyncIterator[RawAri]:
    async with RawAri(sim.url, "u", "p", app="capture") as client:
        yield client


async def test_control_rule_decides_the_call_outcome(
    sim: Simulator, ari: RawAri
) -> None:
    rule = {"match": "86139*", "behaviour": {"kind": "busy", "after": 0.5}}

    status, _ = await ari.request("POST", "/_sim/parties/rules", json=rule)
    await ari.request(
        "POST",
        "/ari/channels",
        params={"endpoint": "PJSIP/8613900000001@trunk", "app": "capture"},
    )
    destroyed = await ari.wait_for("ChannelDestroyed")
    _, log = await ari.request("GET", "/_sim/originations")

    assert status == 204
    assert destroyed["cause"] == 17
    assert [o["number"] for o in log] == ["8613900000001"]
    assert log[0]["channel_id"] == destroyed["channel"]["id"]


async def test_control_softphone_and_faults_and_restart(
    sim: Simulator, ari: RawAri
) -> None:
    registered = await ari.request(
        "POST", "/_sim/softphones/6001/register", json={"answer_after": 0.1}
    )
    await ari.request(
        "POST",
        "/_sim/faults/fail",
        json={"pattern": "GET /ari/bridges$", "status": 500},
    )
    failed = await ari.request("GET", "/ari/bridges")
    restarted = await ari.request("POST", "/_sim/restart")

    assert registered == (
        200,
        {
            "technology": "PJSIP",
            "resource": "6001",
            "state": "online",
            "channel_ids": [],
        },
    )
    assert failed[0] == 500
    assert restarted == (200, {"asterisk_id": sim.asterisk_id})


async def test_control_rejects_bad_input_with_a_message(ari: RawAri) -> None:
    bad_kind = await ari.request(
        "POST",
        "/_sim/parties/rules",
        json={"match": "1", "behaviour": {"kind": "maybe"}},
    )
    no_match = await ari.request("POST", "/_sim/parties/rules", json={"behaviour": {}})

    assert bad_kind == (400, {"message": "unknown behaviour kind 'maybe'"})
    assert no_match == (400, {"message": "'match' is required"})


async def test_control_requires_credentials(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        response = await session.get(sim.url + "/_sim/state")
        body = await response.json()

    assert (response.status, body) == (401, {"message": "Authentication required"})
    assert (
        response.headers["WWW-Authenticate"] == 'Basic realm="Asterisk REST Interface"'
    )


async def test_random_model_same_seed_same_outcomes() -> None:
    model = RandomModel(answer_rate=0.5, ring=(1, 3), talk=(5, 9))

    runs = []
    for _ in range(2):
        sim = Simulator(seed=42)
        sim.parties.default = model
        runs.append([sim.parties.resolve(f"86{i}") for i in range(50)])

    kinds = {b.kind for b in runs[0]}
    assert runs[0] == runs[1]
    assert "answer" in kinds
    assert len(kinds) > 1


async def test_outdial_sim_command_serves_ari_and_control() -> None:
    env = {**os.environ, "OUTDIAL_ARI_USERNAME": "u", "OUTDIAL_ARI_PASSWORD": "p"}
    outdial = str(Path(sys.executable).parent / "outdial")
    process = await asyncio.create_subprocess_exec(
        outdial,
        "sim",
        "--port",
        "0",
        "--time-scale",
        "0.01",
        "--softphone",
        "6005",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    try:
        url = await _listening_url(process)
        async with RawAri(url, "u", "p", app="capture") as client:
            endpoint = await client.request("GET", "/ari/endpoints/PJSIP/6005")
            state = await client.request("GET", "/_sim/state")
    finally:
        process.send_signal(signal.SIGINT)
        await process.wait()

    assert endpoint[1]["state"] == "online"
    assert state[1]["channels"] == 0


async def _listening_url(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(20):
        while line := (await process.stdout.readline()).decode():
            if "listening on" in line:
                return line.rsplit(" ", 1)[1].strip().removesuffix("/ari")
    raise AssertionError("outdial sim exited before listening")
