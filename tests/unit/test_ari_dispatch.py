"""Per-channel ordered dispatch: order within a channel, concurrency across."""

import asyncio

import orjson
import pytest
from structlog.testing import capture_logs

from engine.ari.dispatch import Dispatcher, dispatch_key
from engine.ari.models import Event, parse_event


def _event(event_type: str, channel_id: str | None = None, **extra: object) -> Event:
    data: dict[str, object] = {"type": event_type, "application": "outdial", **extra}
    if channel_id is not None:
        data["channel"] = {"id": channel_id, "name": f"PJSIP/x-{channel_id}"}
    return parse_event(orjson.dumps(data))


def _dial(peer_id: str, status: str) -> Event:
    return parse_event(
        orjson.dumps({"type": "Dial", "dialstatus": status, "peer": {"id": peer_id}})
    )


async def test_dispatch_one_channel_handlers_never_overlap():
    dispatcher = Dispatcher()
    running = 0
    overlap = False
    seen: list[str] = []

    async def handler(event: Event) -> None:
        nonlocal running, overlap
        running += 1
        overlap = overlap or running > 1
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        seen.append(event.raw["n"])  # type: ignore[arg-type]
        running -= 1

    dispatcher.add("*", handler)
    for n in range(50):
        dispatcher.dispatch(_event("ChannelVarset", "c1", n=str(n)))
    await dispatcher.join()

    assert overlap is False
    assert seen == [str(n) for n in range(50)]


async def test_dispatch_different_channels_run_concurrently():
    dispatcher = Dispatcher()
    release = asyncio.Event()
    started: set[str] = set()
    both_started = asyncio.Event()

    async def handler(event: Event) -> None:
        started.add(event.channel_id or "")
        if len(started) == 2:
            both_started.set()
        await release.wait()

    dispatcher.add("StasisStart", handler)
    dispatcher.dispatch(_event("StasisStart", "a"))
    dispatcher.dispatch(_event("StasisStart", "b"))
    async with asyncio.timeout(5):
        await both_started.wait()
    release.set()
    await dispatcher.join()

    assert started == {"a", "b"}


async def test_dispatch_dial_ordered_with_its_peer_channel():
    dispatcher = Dispatcher()
    seen: list[str] = []
    gate = asyncio.Event()

    async def slow_state(event: Event) -> None:
        await gate.wait()
        seen.append(event.type)

    async def record(event: Event) -> None:
        seen.append(f"{event.type}:{event.dialstatus}")

    dispatcher.add("ChannelStateChange", slow_state)
    dispatcher.add("Dial", record)
    dispatcher.dispatch(_event("ChannelStateChange", "orig-1"))
    dispatcher.dispatch(_dial("orig-1", "ANSWER"))
    await asyncio.sleep(0)
    gate.set()
    await dispatcher.join()

    assert seen == ["ChannelStateChange", "Dial:ANSWER"]


async def test_dispatch_handler_error_logged_and_next_event_runs():
    dispatcher = Dispatcher()
    seen: list[str] = []

    async def broken(event: Event) -> None:
        if event.type == "StasisStart":
            raise RuntimeError("boom")
        seen.append(event.type)

    dispatcher.add("*", broken)
    with capture_logs() as logs:
        dispatcher.dispatch(_event("StasisStart", "c1"))
        dispatcher.dispatch(_event("StasisEnd", "c1"))
        await dispatcher.join()

    assert seen == ["StasisEnd"]
    failed = [entry for entry in logs if entry["event"] == "ari_handler_failed"]
    assert len(failed) == 1
    assert failed[0]["channel_id"] == "c1"
    assert failed[0]["log_level"] == "error"
    assert failed[0]["exc_info"] is True


async def test_dispatch_idle_channel_forgets_its_queue():
    dispatcher = Dispatcher()

    async def handler(event: Event) -> None:
        await asyncio.sleep(0)

    dispatcher.add("*", handler)
    for n in range(100):
        dispatcher.dispatch(_event("ChannelDestroyed", f"c{n}"))
    assert len(dispatcher.active_keys) == 100
    await dispatcher.join()

    assert dispatcher.active_keys == frozenset()


async def test_dispatch_without_handlers_starts_nothing():
    dispatcher = Dispatcher()

    dispatcher.dispatch(_event("ChannelVarset", "c1"))

    assert dispatcher.active_keys == frozenset()


async def test_dispatch_removed_handler_not_called():
    dispatcher = Dispatcher()
    seen: list[str] = []

    async def handler(event: Event) -> None:
        seen.append(event.type)

    remove = dispatcher.add("StasisStart", handler)
    remove()
    dispatcher.add("StasisEnd", handler)
    dispatcher.dispatch(_event("StasisStart", "c1"))
    dispatcher.dispatch(_event("StasisEnd", "c1"))
    await dispatcher.join()

    assert seen == ["StasisEnd"]


async def test_dispatch_close_cancels_blocked_handlers():
    dispatcher = Dispatcher()
    cancelled = asyncio.Event()

    async def stuck(event: Event) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    dispatcher.add("*", stuck)
    dispatcher.dispatch(_event("StasisStart", "c1"))
    await asyncio.sleep(0)
    await dispatcher.close()

    assert cancelled.is_set()
    assert dispatcher.active_keys == frozenset()


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"type": "StasisStart", "channel": {"id": "c1"}}, "channel:c1"),
        ({"type": "Dial", "peer": {"id": "c2"}}, "channel:c2"),
        (
            {
                "type": "PlaybackFinished",
                "playback": {"id": "p", "target_uri": "channel:c3"},
            },
            "channel:c3",
        ),
        (
            {
                "type": "RecordingFinished",
                "recording": {"name": "r", "target_uri": "bridge:b1"},
            },
            "bridge:b1",
        ),
        ({"type": "BridgeDestroyed", "bridge": {"id": "b2"}}, "bridge:b2"),
        (
            {
                "type": "EndpointStateChange",
                "endpoint": {"technology": "PJSIP", "resource": "6001"},
            },
            "endpoint:PJSIP/6001",
        ),
        ({"type": "ApplicationReplaced"}, ""),
    ],
)
def test_dispatch_key_names_the_resource(data, key):
    assert dispatch_key(parse_event(orjson.dumps(data))) == key
