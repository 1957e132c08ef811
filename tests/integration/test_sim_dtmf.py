"""
The simulator's DTMF: a party answers a prompt with a key press.
"""

from collections.abc import AsyncIterator

import pytest

from engine.sim import Behaviour, Simulator
from engine.sim.exceptions import SimError
from engine.sim.testing import RawAri


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(
        username="u", password="p", time_scale=0.01, seed=3
    ) as running:
        running.sounds["survey-question"] = 2.0
        yield running


@pytest.fixture
async def ari(sim: Simulator) -> AsyncIterator[RawAri]:
    async with RawAri(sim.url, "u", "p", app="capture") as client:
        yield client


async def answered(ari: RawAri, number: str) -> str:
    status, body = await ari.request(
        "POST",
        "/ari/channels",
        params={"endpoint": f"PJSIP/{number}@trunk", "app": "capture"},
    )
    assert status == 200
    await ari.wait_for("StasisStart")

    return str(body["id"])


async def play(ari: RawAri, channel_id: str, media: str) -> None:
    status, _ = await ari.request(
        "POST", f"/ari/channels/{channel_id}/play", params={"media": media}
    )
    assert status == 201


async def test_dtmf_party_answers_prompt_after_it_ends(
    sim: Simulator, ari: RawAri
) -> None:
    sim.parties.set("8613800000001", Behaviour.answer(after=1.0, dtmf="4#"))
    channel_id = await answered(ari, "8613800000001")

    await play(ari, channel_id, "sound:survey-question")
    first = await ari.wait_for("ChannelDtmfReceived")
    await play(ari, channel_id, "sound:survey-question")
    await ari.wait_for(lambda e: e.get("digit") == "#")

    types = [e["type"] for e in ari.events]
    assert types.index("PlaybackFinished") < types.index("ChannelDtmfReceived")
    assert first["digit"] == "4"
    assert first["duration_ms"] > 0
    assert first["channel"]["id"] == channel_id
    assert [e["digit"] for e in ari.of_type("ChannelDtmfReceived")] == ["4", "#"]


async def test_dtmf_failed_playback_gets_no_key(sim: Simulator, ari: RawAri) -> None:
    sim.parties.set("8613800000002", Behaviour.answer(after=1.0, dtmf="4"))
    channel_id = await answered(ari, "8613800000002")

    await play(ari, channel_id, "sound:no-such-prompt")
    await ari.wait_for("PlaybackFinished")
    sim.press_dtmf(channel_id, "7")
    pressed = await ari.wait_for("ChannelDtmfReceived")

    assert pressed["digit"] == "7"
    assert [e["digit"] for e in ari.of_type("ChannelDtmfReceived")] == ["7"]


async def test_dtmf_press_invalid_digit_raises(sim: Simulator, ari: RawAri) -> None:
    sim.parties.set("8613800000003", Behaviour.answer(after=1.0))
    channel_id = await answered(ari, "8613800000003")

    with pytest.raises(SimError, match="not a DTMF digit"):
        sim.press_dtmf(channel_id, "x")


async def test_dtmf_behaviour_from_json_keeps_digits() -> None:
    behaviour = Behaviour.from_json({"kind": "answer", "dtmf": "3"})

    assert behaviour.dtmf == "3"
    assert behaviour.to_json()["dtmf"] == "3"
