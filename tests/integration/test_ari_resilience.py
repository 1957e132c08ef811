"""
The ARI client surviving what production throws at it, on the simulator: a
dropped WebSocket, a refused upgrade, a restarted Asterisk, a second socket
taking the app, and the re-sync that lets the dialer find its live calls.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest
from ari_helpers import EventRecorder
from structlog.testing import capture_logs

from engine.ari import AriClient, AriSnapshot, Backoff
from engine.sim import Behaviour, Simulator

CUSTOMER = "8613800000002"
ENDPOINT = f"PJSIP/{CUSTOMER}@trunk"


class Snapshots:
    """An ``on_reconnect`` handler that keeps every snapshot."""

    def __init__(self) -> None:
        self.items: list[AriSnapshot] = []
        self._changed = asyncio.Condition()

    async def __call__(self, snapshot: AriSnapshot) -> None:
        async with self._changed:
            self.items.append(snapshot)
            self._changed.notify_all()

    async def wait_count(self, count: int) -> AriSnapshot:
        """Wait until ``count`` snapshots arrived; return the last."""
        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(lambda: len(self.items) >= count)

        return self.items[-1]


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(
        username="outdial", password="outdial", time_scale=0.01, seed=2
    )
    await simulator.start(host="127.0.0.1", port=0)
    try:
        yield simulator
    finally:
        await simulator.stop()


async def _no_wait(delay: float) -> None:
    await asyncio.sleep(0)


def _client(sim: Simulator, password: str = "outdial", sleep=_no_wait) -> AriClient:
    return AriClient(
        sim.url, "outdial", password, "outdial", backoff=Backoff(), sleep=sleep
    )


async def _reconnected(client: AriClient, connections: int) -> None:
    # The socket is up again; its re-sync may still be waiting on REST.
    for _ in range(1000):
        if client.stream.connections >= connections:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the client did not reconnect")


@pytest.fixture
async def wired(sim) -> AsyncIterator[tuple[AriClient, EventRecorder, Snapshots]]:
    client = _client(sim)
    recorder, snapshots = EventRecorder(), Snapshots()
    client.on("*", recorder)
    client.on_reconnect(snapshots)
    await client.connect()
    await snapshots.wait_count(1)
    try:
        yield client, recorder, snapshots
    finally:
        await client.close()


async def _live_call(sim, client, recorder, channel_id: str) -> None:
    sim.parties.set(CUSTOMER, Behaviour.answer(after=1.0))
    await client.originate(ENDPOINT, channel_id=channel_id)
    await recorder.wait_for("StasisStart", channel_id)


async def test_resilience_first_connect_snapshot_is_not_reconnect(wired):
    _, _, snapshots = wired

    first = snapshots.items[0]

    assert (first.reconnect, first.restarted) == (False, False)
    assert first.asterisk_id


async def test_resilience_dropped_socket_resyncs_live_call(sim, wired):
    client, recorder, snapshots = wired
    await _live_call(sim, client, recorder, "live-1")

    with capture_logs() as logs:
        sim.faults.drop_websockets()
        snapshot = await snapshots.wait_count(2)

    assert snapshot.reconnect is True
    assert snapshot.restarted is False
    assert "live-1" in snapshot.channel_ids
    assert snapshot.channel("live-1").state == "Up"
    assert any(e["event"] == "ari_reconnect_scheduled" for e in logs)
    await client.hangup("live-1")
    destroyed = await recorder.wait_for("ChannelDestroyed", "live-1")
    assert destroyed.cause == 16


async def test_resilience_call_ended_while_down_missing_from_snapshot(sim, wired):
    client, recorder, snapshots = wired
    sim.parties.set(CUSTOMER, Behaviour.answer(after=1.0, hangup_after=3.0))
    await client.originate(ENDPOINT, channel_id="short-1")
    await recorder.wait_for("StasisStart", "short-1")

    sim.faults.delay_rest("GET /ari/channels$", 0.5)
    sim.faults.drop_websockets()
    snapshot = await snapshots.wait_count(2)

    assert "short-1" not in snapshot.channel_ids


async def test_resilience_restarted_asterisk_empty_snapshot(sim, wired):
    client, recorder, snapshots = wired
    await _live_call(sim, client, recorder, "live-2")
    before = snapshots.items[-1].startup_time

    await sim.restart()
    snapshot = await snapshots.wait_count(2)

    assert snapshot.restarted is True
    assert snapshot.startup_time > before
    assert snapshot.channels == ()
    assert snapshot.bridges == ()


async def test_resilience_events_during_resync_come_after_snapshot(sim, wired):
    client, recorder, snapshots = wired
    await _live_call(sim, client, recorder, "live-3")
    order: list[str] = []

    async def note_snapshot(snapshot: AriSnapshot) -> None:
        order.append("snapshot")

    async def note_destroyed(event) -> None:
        if event.channel_id == "live-3":
            order.append("ChannelDestroyed")

    client.on_reconnect(note_snapshot)
    client.on("ChannelDestroyed", note_destroyed)
    sim.faults.delay_rest("GET /ari/channels$", 0.5)
    sim.faults.drop_websockets()
    await _reconnected(client, 2)
    await client.hangup("live-3")
    await snapshots.wait_count(2)
    await recorder.wait_for("ChannelDestroyed", "live-3")

    assert order == ["snapshot", "ChannelDestroyed"]


async def test_resilience_refused_upgrade_retries_never_connects(sim):
    attempts = asyncio.Event()
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) >= 3:
            attempts.set()
        await asyncio.sleep(0)

    client = _client(sim, password="wrong", sleep=sleep)
    with capture_logs() as logs:
        await client.connect()
        async with asyncio.timeout(10):
            await attempts.wait()
        await client.close()

    refused = [e for e in logs if e["event"] == "ari_ws_refused"]
    assert len(refused) >= 3
    assert {e["status"] for e in refused} == {401}
    assert client.stream.connections == 0


async def test_resilience_second_socket_replaces_without_fight(sim, wired):
    first, _, _ = wired
    second = _client(sim)
    try:
        with capture_logs() as logs:
            await second.connect()
            async with asyncio.timeout(10):
                await first.replaced.wait()
                await first.stream.task
                await second.connected.wait()

        assert first.connected.is_set() is False
        assert first.stream.connections == 1
        assert [e["event"] for e in logs].count("ari_app_replaced") == 1
    finally:
        await second.close()


async def test_resilience_failed_resync_reconnects_and_retries(sim):
    sim.faults.fail_rest("GET /ari/channels$", status=500, times=1)
    client = _client(sim)
    snapshots = Snapshots()
    client.on_reconnect(snapshots)

    with capture_logs() as logs:
        await client.connect()
        async with asyncio.timeout(10):
            await client.connected.wait()
        await client.close()

    failed = [e for e in logs if e["event"] == "ari_resync_failed"]
    assert len(failed) == 1
    assert "500" in failed[0]["error"]
    assert client.stream.connections == 2
    assert len(snapshots.items) == 1
