"""Parsing ARI JSON into the typed models, checked against the real traces."""

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from engine.ari.models import (
    AriSnapshot,
    Bridge,
    Channel,
    Event,
    LiveRecording,
    parse_event,
    parse_time,
)

# The first event of each type seen in the Asterisk 22 traces, copied verbatim.
SAMPLE = Path(__file__).parent / "data" / "ari_events_sample.jsonl"
# The full traces, when the shared reference folder sits beside the repository.
TRACES = Path(__file__).resolve().parents[3] / "shared" / "ari" / "traces"


def _first(events: list[dict[str, object]], event_type: str) -> Event:
    raw = next(e for e in events if e["type"] == event_type)
    return parse_event(orjson.dumps(raw))


@pytest.fixture(scope="module")
def trace_events() -> list[dict[str, object]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines()]


def test_parse_event_every_sample_type_keeps_envelope(trace_events):
    parsed = [parse_event(orjson.dumps(raw)) for raw in trace_events]

    assert len(parsed) == 22
    assert all(e.asterisk_id == "02:fc:00:00:00:01" for e in parsed)
    assert all(e.timestamp.year == 2026 for e in parsed)
    assert [e.raw for e in parsed] == trace_events


def test_parse_event_every_trace_event_parses():
    lines = [
        json.loads(line)
        for path in sorted(TRACES.glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    events = [line["event"] for line in lines if line["kind"] == "event"]
    if not events:
        pytest.skip("the shared ARI traces are not beside this checkout")

    parsed = [parse_event(orjson.dumps(raw)) for raw in events]

    assert len(parsed) == len(events)
    assert all(e.type == raw["type"] for e, raw in zip(parsed, events, strict=True))


def test_parse_event_dial_keys_by_peer(trace_events):
    event = _first(trace_events, "Dial")

    assert event.peer is not None
    assert event.channel is None
    assert event.channel_id == event.peer.id
    assert event.dialstatus == ""
    assert event.dialstring == "79990000001@sim-customers"


def test_parse_event_peer_status_change_has_no_channel_peer(trace_events):
    event = _first(trace_events, "PeerStatusChange")

    assert event.peer is None
    assert event.channel_id is None
    assert event.endpoint is not None
    assert event.endpoint.resource == "6001"


def test_parse_event_stasis_start_has_args_and_channelvars(trace_events):
    event = _first(trace_events, "StasisStart")

    assert event.args == ("customer", "contact-1")
    assert event.channel is not None
    assert event.channel.channelvars == {
        "CAMPAIGN_ID": "camp-1",
        "CONTACT_ID": "contact-1",
    }
    assert event.channel.dialplan.app_name == "Stasis"
    assert event.channel.creationtime == datetime(
        2026, 12, 3, 15, 56, 33, 291000, tzinfo=UTC
    )


def test_parse_event_hangup_request_soft_flag(trace_events):
    event = _first(trace_events, "ChannelHangupRequest")

    assert event.soft is True
    assert event.cause == 16


def test_parse_event_channel_destroyed_cause(trace_events):
    event = _first(trace_events, "ChannelDestroyed")

    assert (event.cause, event.cause_txt) == (16, "Normal Clearing")
    assert event.channel is not None
    assert event.channel.is_local_dialplan_half


def test_parse_event_recording_finished_duration_and_bridge(trace_events):
    event = _first(trace_events, "RecordingFinished")

    assert event.recording is not None
    assert event.recording.duration == 20
    assert event.recording.state == "done"
    assert event.recording.bridge_id == "b845a4a7-2d06-4ca6-8a37-81db34f2cead"


def test_parse_event_unknown_type_still_delivered():
    event = parse_event(b'{"type":"BrandNewThing","foo":1,"application":"a"}')

    assert event.type == "BrandNewThing"
    assert event.raw["foo"] == 1
    assert event.application == "a"
    assert event.channel_id is None


@pytest.mark.parametrize("payload", [b"[]", b'{"no":"type"}', b"not json"])
def test_parse_event_not_an_event_raises_value_error(payload):
    with pytest.raises(ValueError):  # noqa: PT011 - orjson's error is a ValueError
        parse_event(payload)


def test_channel_from_json_without_id_raises():
    with pytest.raises(ValueError, match="channel without an id"):
        Channel.from_json({"name": "PJSIP/6001-00000000"})


def test_channel_from_json_without_channelvars_is_empty():
    channel = Channel.from_json({"id": "1.0", "state": "Down"})

    assert channel.channelvars == {}
    assert channel.caller.number == ""


def test_bridge_from_json_channels_are_a_tuple():
    bridge = Bridge.from_json({"id": "b1", "channels": ["1.0", "1.2"]})

    assert bridge.channels == ("1.0", "1.2")


def test_live_recording_target_not_bridge_has_no_bridge_id():
    recording = LiveRecording.from_json({"name": "r", "target_uri": "channel:1.0"})

    assert recording.bridge_id is None


def test_parse_time_malformed_gives_epoch():
    assert parse_time("yesterday") == datetime(1970, 1, 1, tzinfo=UTC)


def test_snapshot_channel_lookup_by_id():
    snapshot = AriSnapshot(
        channels=(Channel(id="a"), Channel(id="b")),
        bridges=(),
        asterisk_id="x",
        startup_time=datetime(2026, 12, 3, tzinfo=UTC),
        restarted=False,
        reconnect=True,
    )

    assert snapshot.channel("b") == Channel(id="b")
    assert snapshot.channel("c") is None
    assert snapshot.channel_ids == {"a", "b"}
