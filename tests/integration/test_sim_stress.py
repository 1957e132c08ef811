"""
Many overlapping calls with random outcomes and random engine actions: the
simulator stays consistent and never fails inside a timer callback.
"""

import asyncio
import random
from typing import Any

from engine.sim import RandomModel, Simulator
from engine.sim.testing import RawAri

ENDPOINTS = (
    "PJSIP/86138{n:08d}@trunk",
    "Local/79990000{m:03d}@sim-customers",
    "Local/1000@sim-operators",
)


async def _one_call(ari: RawAri, rng: random.Random, n: int) -> None:
    endpoint = rng.choice(ENDPOINTS).format(n=n, m=rng.randint(1, 8))
    status, channel = await ari.request(
        "POST",
        "/ari/channels",
        params={"endpoint": endpoint, "app": "capture", "timeout": "8"},
    )
    assert status == 200
    await asyncio.sleep(rng.uniform(0, 0.05))
    action = rng.choice(("bridge", "hangup", "snoop", "nothing"))
    cid = channel["id"]
    if action == "bridge":
        _, bridge = await ari.request("POST", "/ari/bridges", params={"type": "mixing"})
        await ari.request(
            "POST", f"/ari/bridges/{bridge['id']}/addChannel", params={"channel": cid}
        )
        await ari.request(
            "POST",
            f"/ari/bridges/{bridge['id']}/record",
            params={"name": f"rec-{n}", "format": "wav"},
        )
        await asyncio.sleep(rng.uniform(0, 0.05))
        await ari.request("DELETE", f"/ari/channels/{cid}")
        await ari.request("DELETE", f"/ari/bridges/{bridge['id']}")
    elif action == "snoop":
        await ari.request(
            "POST",
            f"/ari/channels/{cid}/snoop",
            params={"app": "capture", "spy": "both"},
        )
        await ari.request("DELETE", f"/ari/channels/{cid}")
    elif action == "hangup":
        await ari.request("DELETE", f"/ari/channels/{cid}", params={"reason": "normal"})


async def test_random_calls_leave_no_channels_and_no_errors() -> None:
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, ctx: errors.append(ctx))
    rng = random.Random(11)
    async with Simulator(username="u", password="p", time_scale=0.01, seed=11) as sim:
        sim.load_trace_dialplan()
        sim.parties.default = RandomModel(answer_rate=0.6, ring=(0.5, 3), talk=(1, 5))
        async with RawAri(sim.url, "u", "p", app="capture") as ari:
            await asyncio.gather(*(_one_call(ari, rng, n) for n in range(150)))
            for channel_id in list(sim.channels):
                await ari.request("DELETE", f"/ari/channels/{channel_id}")
            async with asyncio.timeout(10):
                while sim.channels:
                    await ari.wait_for("ChannelDestroyed", start=len(ari.events))

        app = sim.pbx.hub.apps["capture"]
        assert errors == []
        assert app.channel_ids == set()
        assert len(sim.originations) == 150
        started = {e["channel"]["id"] for e in ari.of_type("StasisStart")}
        ended = {e["channel"]["id"] for e in ari.of_type("StasisEnd")}
        assert started == ended
