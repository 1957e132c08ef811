"""
Replay a reference trace against the simulator and compare what comes back.

The harness reads ``traces/NN-*.jsonl`` (a verbatim copy of
``shared/ari/traces``) and, in order:

- sends each REST request, with ids the simulator assigned in place of the
  ids Asterisk assigned (learned from paired responses and events), after
  waiting until the simulator has delivered as many milestone events as the
  trace client had seen when it sent the request, and after the request's
  scaled send time;
- opens and closes WebSockets as the trace did, and drives the softphone as
  the trace's notes say (sipp register / answer / reject scripts);
- compares statuses and bodies with ids and times normalised away;
- at the end, compares the events per entity (each channel, recording,
  playback, bridge, endpoint), in order: type, key sets and key values.

How things are compared lives in ``trace_compare``.
"""

import asyncio
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from trace_compare import (
    CHANNEL_ID,
    UUID,
    Mismatch,
    channel_key,
    compare_body,
    compare_events,
    normalise,
    settled,
    split_responses,
)

from engine.sim import Behaviour, Simulator
from engine.sim.testing import RawAri

# A verbatim copy of shared/ari/traces, so that a clean clone runs these tests.
TRACES = Path(__file__).resolve().parent / "traces"
SHARED_TRACES = Path(__file__).resolve().parents[3] / "shared" / "ari" / "traces"
USER, SECRET, APP = "engine", "engine-secret", "capture"
TIME_SCALE = 0.1

# Event types whose counts gate the next request (ordering is not enough).
MILESTONES = (
    "StasisStart",
    "StasisEnd",
    "ChannelDestroyed",
    "RecordingStarted",
    "RecordingFinished",
    "PlaybackStarted",
    "PlaybackFinished",
    "ChannelEnteredBridge",
    "ChannelLeftBridge",
    "BridgeDestroyed",
    "Dial",
    "EndpointStateChange",
    "ApplicationReplaced",
)


def load(name: str) -> list[dict[str, Any]]:
    """The records of one trace file (by its number prefix, e.g. ``"01"``)."""
    (path,) = TRACES.glob(f"{name}-*.jsonl")

    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Replay:
    """The state of one replay."""

    sim: Simulator
    records: list[dict[str, Any]]
    ids: dict[str, str] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)
    sockets: list[RawAri] = field(default_factory=list)
    requests: int = 0
    events: int = 0

    # -- id translation -------------------------------------------------------

    def learn(self, expected: Any, actual: Any) -> None:
        """Pair ids found at the same place in a trace and a simulator body."""
        if isinstance(expected, dict) and isinstance(actual, dict):
            if isinstance(expected.get("id"), str) and isinstance(
                actual.get("id"), str
            ):
                self.ids.setdefault(expected["id"], actual["id"])
            for key in expected.keys() & actual.keys():
                if key != "id":
                    self.learn(expected[key], actual[key])
        elif isinstance(expected, list) and isinstance(actual, list):
            by_name = {
                channel_key(a.get("name", "")): a for a in actual if isinstance(a, dict)
            }
            for item in expected:
                if isinstance(item, dict) and "name" in item:
                    other = by_name.get(channel_key(item["name"]))
                    if other is not None:
                        self.learn(item, other)

    def translate(self, text: str) -> str:
        """Trace ids in a path or parameter, as the simulator knows them."""
        for pattern in (CHANNEL_ID, UUID):
            text = pattern.sub(lambda m: self.ids.get(m.group(0), m.group(0)), text)

        return text

    def learn_from_events(self) -> None:
        """Pair channel ids through the per-entity event streams."""
        trace = [r["event"] for r in self.records if r["kind"] == "event"]
        actual = self.sockets[0].events if self.sockets else []
        seen_t, seen_a = entity_ids(trace), entity_ids(actual)
        for key, ident in seen_t.items():
            if key in seen_a:
                self.ids.setdefault(ident, seen_a[key])


def entity_ids(events: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """Channel id per (name without counters, occurrence)."""
    found: dict[tuple[str, int], str] = {}
    counts: Counter[str] = Counter()
    known: set[str] = set()
    for event in events:
        for holder in ("channel", "peer"):
            ch = event.get(holder)
            if isinstance(ch, dict) and "id" in ch and ch["id"] not in known:
                known.add(ch["id"])
                key = channel_key(ch["name"])
                found[(key, counts[key])] = ch["id"]
                counts[key] += 1

    return found


# -- the driver ---------------------------------------------------------------


def apply_note(sim: Simulator, text: str) -> None:
    """Do what a note says the softphone (sipp) did."""
    script = re.search(r"-sf (\S+)\.xml", text)
    if script is None or "exited" in text:
        return
    name = script.group(1)
    phones = sim.softphones
    if name == "reg":
        phones.register("6001", answer_after=1.0)
    elif name == "unreg":
        phones.unregister("6001")
    elif name == "uas":
        phones.script("6001", Behaviour.answer(after=1.0))
    elif name == "uas-noanswer":
        phones.script("6001", Behaviour.no_answer())
    elif (code := re.fullmatch(r"uas-(\d+)", name)) is not None:
        phones.script("6001", Behaviour.rejected(after=1.0, code=int(code.group(1))))


# Events a client waits for before acting; one logged in the same
# millisecond as the next request was seen before it was sent. Others in that
# millisecond may have been caused by the request itself.
WAITED_FOR = ("StasisStart", "PlaybackFinished")


def _seen(record: dict[str, Any], before: float) -> bool:
    if record["t"] < before:
        return True

    return record["t"] == before and record["event"]["type"] in WAITED_FOR


def _auth_header(auth: str) -> dict[str, str]:
    if auth.startswith("basic "):
        user, _, password = auth[6:].partition(":")
        password = "wrong" if password == "<wrong>" else password
        return {"Authorization": aiohttp.encode_basic_auth(user, password)}

    return {}


class Driver:
    """Runs one trace against a fresh simulator."""

    def __init__(self, replay: Replay, session: aiohttp.ClientSession) -> None:
        self.replay = replay
        self.session = session
        self.trace_events = [r for r in replay.records if r["kind"] == "event"]
        self.start = 0.0
        self.wait_limit = 5.0
        self.racy: set[int] = set()

    @property
    def main(self) -> RawAri | None:
        """The scenario's events socket."""
        return self.replay.sockets[0] if self.replay.sockets else None

    async def wait_milestones(self, before: float) -> None:
        """Wait until the simulator delivered what the trace had seen by ``before``."""
        need = Counter(
            r["event"]["type"]
            for r in self.trace_events
            if r["event"]["type"] in MILESTONES and _seen(r, before)
        )
        main = self.main
        if main is None:
            return
        for event_type, count in need.items():
            try:
                async with asyncio.timeout(self.wait_limit):
                    while len(main.of_type(event_type)) < count:
                        await main.wait_for(event_type, start=len(main.events))
            except TimeoutError:
                got = len(main.of_type(event_type))
                self.replay.mismatches.append(
                    Mismatch(f"waiting before t={before}", f"{count} {event_type}", got)
                )

    async def at(self, t: float) -> None:
        """Sleep until the scaled trace time ``t``."""
        loop = asyncio.get_running_loop()
        delay = self.start + t * self.replay.sim.clock.time_scale - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def ws_connect(self, record: dict[str, Any]) -> None:
        """Open a WebSocket as the trace did (or fail to, as it did)."""
        query = dict(record["query"])
        if query.get("api_key") == "<user:password>":
            query["api_key"] = f"{USER}:{SECRET}"
        if record["ok"]:
            headers = _auth_header(record["auth"])
            client = RawAri(self.replay.sim.url, USER, SECRET, APP)
            client.session = aiohttp.ClientSession(headers=headers)
            await client.connect(query)
            self.replay.sockets.append(client)
            return
        try:
            ws = await self.session.ws_connect(
                self.replay.sim.url + record["url"],
                params=query,
                headers=_auth_header(record["auth"]),
            )
            await ws.close()
            status = 101
        except aiohttp.WSServerHandshakeError as exc:
            status = exc.status
        if status != record["status"]:
            self.replay.mismatches.append(
                Mismatch(f"ws_connect #{record['seq']}", record["status"], status)
            )

    async def ws_close(self, record: dict[str, Any]) -> None:
        """Close the socket the trace closed."""
        index = 1 if record.get("which") == "second socket" else 0
        if index < len(self.replay.sockets):
            socket = self.replay.sockets[index]
            if socket.ws is not None:
                await socket.ws.close()

    async def rest(self, record: dict[str, Any]) -> None:
        """Send one request and compare the answer."""
        await self.at(record["t_sent"])
        await self.wait_milestones(record["t_sent"])
        replay = self.replay
        replay.learn_from_events()
        path = replay.translate(record["path"])
        query = {k: replay.translate(v) for k, v in (record["query"] or {}).items()}
        headers = _auth_header(record["auth"])
        data: bytes | None = None
        if "raw_body" in record:
            data = record["raw_body"].encode()
            headers.update(record.get("request_headers") or {})
        elif record.get("body") is not None:
            data = json.dumps(record["body"]).encode()
            headers["Content-Type"] = "application/json"
        async with self.session.request(
            record["method"],
            replay.sim.url + path,
            params=query,
            data=data,
            headers=headers,
        ) as response:
            raw = await response.read()
            status, ctype = response.status, response.content_type
            # aiohttp reports a missing Content-Type as application/octet-stream.
            want_type = record["content_type"] or "application/octet-stream"
            if ctype != want_type:
                where = f"rest #{record['seq']} content type"
                self.replay.mismatches.append(Mismatch(where, want_type, ctype))
            if response.reason != record["reason"]:
                where = f"rest #{record['seq']} reason"
                self.replay.mismatches.append(
                    Mismatch(where, record["reason"], response.reason)
                )
        self._compare(record, status, ctype, raw)
        replay.requests += 1

    def _compare(
        self, record: dict[str, Any], status: int, ctype: str, raw: bytes
    ) -> None:
        where = f"rest #{record['seq']} {record['method']} {record['path']}"
        expected = record["response"]
        if ctype == "application/json" and raw:
            actual: Any = json.loads(raw)
        elif ctype == "audio/wav":
            actual = {"binary": True, "length": len(raw), "head_hex": raw[:16].hex()}
        else:
            actual = raw.decode() or None
        if status != record["status"]:
            self.replay.mismatches.append(
                Mismatch(where + " status", record["status"], status)
            )
        if isinstance(expected, dict) and expected.get("binary"):
            # Same tolerance as recording durations: the one-second tick.
            expected, actual = self._audio_view(expected), self._audio_view(actual)
            if abs(expected["seconds"] - actual.get("seconds", -9)) <= 1:
                actual["seconds"] = expected["seconds"]
        if record["seq"] in self.racy:
            expected, actual = settled(expected), settled(actual)
        if not compare_body(expected, actual):
            self.replay.mismatches.append(
                Mismatch(where + " body", normalise(expected), normalise(actual))
            )
        self.replay.learn(expected, actual)

    @staticmethod
    def _audio_view(body: dict[str, Any]) -> dict[str, Any]:
        """A WAV file as compared: header bytes and length in whole seconds."""
        head = body["head_hex"]
        return {
            "riff": head[:8],
            "wave_fmt": head[16:],
            "seconds": round((body["length"] - 44) / 16000),
        }

    async def raw_http(self, record: dict[str, Any]) -> None:
        """Send a hand-written upgrade and compare the exact response bytes."""
        request = record["request"]
        auth = re.search(r"Authorization: <(basic [^>]*>?)>", request)
        if auth is not None:
            header = _auth_header(auth.group(1))["Authorization"]
            request = request.replace(auth.group(0), f"Authorization: {header}")
        sim = self.replay.sim
        reader, writer = await asyncio.open_connection(sim.host, sim.port)
        writer.write(request.encode())
        await writer.drain()
        received = b""
        try:
            async with asyncio.timeout(0.5):
                while chunk := await reader.read(65536):
                    received += chunk
        except TimeoutError:
            pass
        writer.close()
        want, got = (
            split_responses(record["response"]),
            split_responses(received.decode()),
        )
        if want != got:
            self.replay.mismatches.append(
                Mismatch(f"raw_http #{record['seq']}", want, got)
            )


async def run_trace(
    name: str,
    time_scale: float = TIME_SCALE,
    registered: tuple[str, ...] = (),
    sim: Simulator | None = None,
    wait_limit: float = 5.0,
    racy: tuple[int, ...] = (),
) -> Replay:
    """
    Replay one trace; the result holds every mismatch found.

    ``registered`` softphones start registered, as one left so by an earlier
    trace of the same capture run was.
    """
    if sim is None:
        sim = Simulator(username=USER, password=SECRET, time_scale=time_scale, seed=1)
        sim.load_trace_dialplan()
    sim.softphones.configure("6001")
    sim.softphones.configure("6002")
    for ext in registered:
        sim.softphones.register(ext, answer_after=1.0)
    await sim.start()
    replay = Replay(sim, load(name))
    try:
        async with aiohttp.ClientSession() as session:
            driver = Driver(replay, session)
            driver.start = asyncio.get_running_loop().time()
            driver.wait_limit = wait_limit
            driver.racy = set(racy)
            await _play(driver)
    finally:
        for socket in replay.sockets:
            await socket.close()
        await sim.stop()

    return replay


async def _play(driver: Driver) -> None:
    replay = driver.replay
    last_t = 0.0
    for record in replay.records:
        kind = record["kind"]
        last_t = max(last_t, record["t"])
        if kind == "note":
            apply_note(replay.sim, record["text"])
        elif kind == "ws_connect":
            await driver.ws_connect(record)
        elif kind == "ws_close":
            await driver.at(record["t"])
            await driver.wait_milestones(record["t"])
            if record.get("which") is None:
                trace = [r["event"] for r in driver.trace_events]
                actual = driver.main.events if driver.main else []
                replay.mismatches += compare_events(trace, actual)
                replay.events += len(actual)
            await driver.ws_close(record)
        elif kind == "rest":
            await driver.rest(record)
        elif kind == "raw_http":
            await driver.raw_http(record)
