"""
The ARI client against the project's simulator: originate, answer, bridge,
record, download, errors, and events that beat their REST response.
"""

import asyncio
import base64
import io
import wave
from collections.abc import AsyncIterator

import pytest
from ari_helpers import EventRecorder, SlowRestProxy
from structlog.testing import capture_logs

from engine.ari import (
    AriClient,
    AriNotFoundError,
    AriRequestError,
    Backoff,
    Event,
)
from engine.sim import Behaviour, Simulator

CUSTOMER = "8613800000001"
ENDPOINT = f"PJSIP/{CUSTOMER}@trunk"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(
        username="outdial", password="outdial", time_scale=0.01, seed=1
    )
    await simulator.start(host="127.0.0.1", port=0)
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def recorder() -> EventRecorder:
    return EventRecorder()


@pytest.fixture
async def client(sim: Simulator, recorder: EventRecorder) -> AsyncIterator[AriClient]:
    ari = AriClient(
        sim.url, "outdial", "outdial", "outdial", backoff=Backoff(base=0.01, cap=0.05)
    )
    ari.on("*", recorder)
    await ari.connect()
    try:
        async with asyncio.timeout(10):
            await ari.connected.wait()
        yield ari
    finally:
        await ari.close()


async def _answered_call(
    sim: Simulator, client: AriClient, recorder: EventRecorder, channel_id: str
) -> None:
    sim.parties.set(CUSTOMER, Behaviour.answer(after=1.0))
    await client.originate(ENDPOINT, channel_id=channel_id, app_args=("customer",))
    await recorder.wait_for("StasisStart", channel_id)


async def test_client_originate_answered_events_in_asterisk_order(
    sim, client, recorder
):
    sim.parties.set(CUSTOMER, Behaviour.answer(after=1.0, hangup_after=2.0))

    channel = await client.originate(
        ENDPOINT,
        channel_id="call-1",
        app_args=("customer", "contact-1"),
        caller_id='"Campaign" <74950000000>',
        timeout=30,
        variables={"CAMPAIGN_ID": "camp-1", "CONTACT_ID": "contact-1"},
    )
    start = await recorder.wait_for("StasisStart", "call-1")
    await recorder.wait_for("ChannelDestroyed", "call-1")

    assert (channel.id, channel.state) == ("call-1", "Down")
    assert start.args == ("customer", "contact-1")
    assert start.channel is not None
    assert start.channel.channelvars["CAMPAIGN_ID"] == "camp-1"
    statuses = [e.dialstatus for e in recorder.of("call-1") if e.type == "Dial"]
    assert statuses[-2:] == ["RINGING", "ANSWER"]
    types = recorder.types("call-1")
    assert types.index("StasisStart") < types.index("StasisEnd")
    assert types[-1] == "ChannelDestroyed"
    assert sim.originations[-1].channel_id == "call-1"


async def _originate_tracking_order(ari: AriClient, channel_id: str) -> list[str]:
    """
    The dialer's pattern: state registered under the chosen channel id before
    the request, handlers look it up by ``event.channel_id`` whatever the order.
    Returns what the StasisStart handler saw: "before" or "after" the answer.
    """
    calls: dict[str, str] = {channel_id: "dialling"}
    seen: list[str] = []
    returned = asyncio.Event()
    started = asyncio.Event()

    async def on_start(event: Event) -> None:
        if event.channel_id in calls:
            seen.append("after" if returned.is_set() else "before")
            calls[event.channel_id] = "answered"
            started.set()

    remove = ari.on("StasisStart", on_start)
    await ari.originate(ENDPOINT, channel_id=channel_id, timeout=600)
    returned.set()
    async with asyncio.timeout(10):
        await started.wait()
    remove()
    assert calls == {channel_id: "answered"}

    return seen


async def test_client_events_before_originate_response_are_handled(sim):
    sim.parties.set(CUSTOMER, Behaviour.answer(after=0.5))
    proxy = SlowRestProxy(sim.url, delay=1.0)
    ari = AriClient(await proxy.start(), "outdial", "outdial", "outdial")
    try:
        await ari.connect()
        async with asyncio.timeout(10):
            await ari.connected.wait()

        seen = await _originate_tracking_order(ari, "early-1")
    finally:
        await ari.close()
        await proxy.stop()

    assert seen == ["before"]


async def test_client_events_after_originate_response_are_handled(sim, client):
    sim.parties.set(CUSTOMER, Behaviour.answer(after=100.0))

    seen = await _originate_tracking_order(client, "late-1")

    assert seen == ["after"]


async def test_client_busy_has_no_stasis_start(sim, client, recorder):
    sim.parties.set(CUSTOMER, Behaviour.busy())

    await client.originate(ENDPOINT, channel_id="busy-1")
    destroyed = await recorder.wait_for("ChannelDestroyed", "busy-1")

    assert "StasisStart" not in recorder.types("busy-1")
    dials = [e.dialstatus for e in recorder.of("busy-1") if e.type == "Dial"]
    assert dials[-1] == "BUSY"
    assert destroyed.cause == 17


async def test_client_bridge_record_download(sim, client, recorder):
    await _answered_call(sim, client, recorder, "rec-call")

    bridge = await client.create_bridge("br-1", name="call-rec-call")
    await client.add_channel("br-1", "rec-call", role="customer")
    live = await client.record_bridge("br-1", "rec-1", format="wav")
    await recorder.wait_for(
        "RecordingStarted", where=lambda e: e.recording.name == "rec-1"
    )
    await asyncio.sleep(0.05)
    await client.hangup("rec-call")
    finished = await recorder.wait_for(
        "RecordingFinished", where=lambda e: e.recording.name == "rec-1"
    )
    stored = await client.get_stored_recording("rec-1")
    audio = await client.download_recording("rec-1")
    await client.destroy_bridge("br-1")
    await recorder.wait_for("BridgeDestroyed", where=lambda e: e.bridge.id == "br-1")

    assert (bridge.id, bridge.bridge_type) == ("br-1", "mixing")
    assert (live.name, live.state) == ("rec-1", "queued")
    assert finished.recording.bridge_id == "br-1"
    assert (stored.name, stored.format) == ("rec-1", "wav")
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (
            8000,
            2,
            1,
        )
    entered = await recorder.wait_for("ChannelEnteredBridge", "rec-call")
    assert entered.bridge.id == "br-1"


async def test_client_stored_recording_delete_then_not_found(sim, client, recorder):
    await _answered_call(sim, client, recorder, "del-call")
    await client.create_bridge("br-del")
    await client.add_channel("br-del", "del-call")
    await client.record_bridge("br-del", "rec-del")
    await client.stop_recording("rec-del")
    await recorder.wait_for(
        "RecordingFinished", where=lambda e: e.recording.name == "rec-del"
    )

    await client.delete_stored_recording("rec-del")

    with pytest.raises(AriNotFoundError) as caught:
        await client.get_stored_recording("rec-del")
    assert caught.value.message == "Recording not found"


async def test_client_hangup_gone_channel_raises_not_found(client):
    with pytest.raises(AriNotFoundError) as caught:
        await client.hangup("no-such-channel")

    assert (caught.value.status, caught.value.message) == (404, "Channel not found")


async def test_client_add_gone_channel_400_is_not_found(sim, client, recorder):
    await client.create_bridge("br-gone")

    with pytest.raises(AriNotFoundError) as caught:
        await client.add_channel("br-gone", "gone-channel")

    assert (caught.value.status, caught.value.message) == (400, "Channel not found")


async def test_client_unregistered_softphone_error_key_read(client):
    with pytest.raises(AriRequestError) as caught:
        await client.originate("PJSIP/6001")

    assert not isinstance(caught.value, AriNotFoundError)
    assert (caught.value.status, caught.value.message) == (500, "Allocation failed")


async def test_client_endpoint_without_slash_is_request_error(client):
    with pytest.raises(AriRequestError) as caught:
        await client.originate("garbage-without-slash")

    assert (caught.value.status, caught.value.message) == (
        400,
        "Invalid endpoint specified",
    )


async def test_client_variables_set_and_get(sim, client, recorder):
    await _answered_call(sim, client, recorder, "var-call")

    await client.set_variable("var-call", "CONTACT_ID", "contact-9b")
    value = await client.get_variable("var-call", "CONTACT_ID")

    assert value == "contact-9b"
    with pytest.raises(AriNotFoundError):
        await client.get_variable("var-call", "NOT_SET_VAR")


async def test_client_play_events_follow_their_channel(sim, client, recorder):
    await _answered_call(sim, client, recorder, "play-call")

    playback = await client.play("play-call", "sound:beep", playback_id="pb-1")
    finished = await recorder.wait_for(
        "PlaybackFinished", where=lambda e: e.playback.id == "pb-1"
    )

    assert playback.id == "pb-1"
    assert finished.playback.state == "done"
    assert finished.playback.target_uri == "channel:play-call"


async def test_client_list_and_get_resources(sim, client, recorder):
    await _answered_call(sim, client, recorder, "list-call")
    await client.create_bridge("br-list")

    channels = await client.list_channels()
    bridges = await client.list_bridges()
    channel = await client.get_channel("list-call")
    pong = await client.ping()

    assert "list-call" in {c.id for c in channels}
    assert "br-list" in {b.id for b in bridges}
    assert channel.state == "Up"
    assert pong["ping"] == "pong"


async def test_client_create_then_dial_answered(sim, client, recorder):
    sim.parties.set(CUSTOMER, Behaviour.answer(after=1.0))

    channel = await client.create_channel(ENDPOINT, channel_id="two-step")
    await recorder.wait_for("StasisStart", "two-step")
    await client.dial("two-step", timeout=15)
    await recorder.wait_for(
        "Dial", "two-step", where=lambda e: e.dialstatus == "ANSWER"
    )

    assert channel.id == "two-step"
    assert recorder.types("two-step").count("StasisStart") == 1


async def test_client_wrong_password_rest_401(sim):
    async with AriClient(sim.url, "outdial", "wrong", "outdial") as ari:
        with pytest.raises(AriRequestError) as caught:
            await ari.ping()

    assert caught.value.status == 401


async def test_client_logs_never_carry_credentials():
    secret = "s3cret-pw"
    async with Simulator(
        username="outdial", password=secret, time_scale=0.01
    ) as simulator:
        with capture_logs() as logs:
            good = AriClient(simulator.url, "outdial", secret, "outdial")
            bad = AriClient(
                simulator.url, "outdial", "wr0ng-pw", "outdial", sleep=_quick
            )
            await good.connect()
            await bad.connect()
            async with asyncio.timeout(10):
                await good.connected.wait()
            with pytest.raises(AriNotFoundError) as missing:
                await good.hangup("no-such-channel")
            with pytest.raises(AriRequestError) as refused:
                await bad.ping()
            await good.close()
            await bad.close()

    text = repr(logs) + str(missing.value) + str(refused.value)
    token = base64.b64encode(f"outdial:{secret}".encode()).decode()
    assert any(e["event"] == "ari_ws_refused" for e in logs)
    assert secret not in text
    assert "wr0ng-pw" not in text
    assert token not in text
    assert "api_key" not in text


async def _quick(delay: float) -> None:
    await asyncio.sleep(0.01)
