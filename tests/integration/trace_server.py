"""
An ARI server that answers with a recorded Asterisk trace, for the dialer tests.

The server speaks ARI over real HTTP and a real events WebSocket. The trace is
cut into segments, one per "action" request the trace client made (originate,
bridge creation, ``addChannel``, record, bridge or channel deletion): each
segment holds that request's recorded answer and every event recorded after
it up to the next action, including the ones Asterisk sent by itself later
(a customer hanging up 20 s after the recording started). Requests the trace
client made only to look (``GET /channels/{id}``, variables) carry no events of
their own, so their events belong to the action before them.

When the engine under test makes an action request, the server takes the next
unused segment of that kind, learns the ids the engine chose (channel id,
bridge id, recording name) in place of the ones Asterisk assigned in the
trace, and sends the segment's events with those ids rewritten, in recorded
order and without the recorded delays. ``order`` decides whether the events
go out before the request's answer (as Asterisk often does), after it, or
split as the trace client saw them (``recorded``: the events that arrived
before the answer go first).
Requests the trace has no answer for are answered from what the server has
sent so far (a destroyed channel is 404), and any request it cannot place at
all is kept in ``unexpected``.
"""

import asyncio
import bisect
import io
import json
import re
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from aiohttp import web

TRACES = Path(__file__).resolve().parents[1] / "contract" / "traces"

Order = Literal["events-first", "answer-first", "recorded"]
# (seconds since the trace started, the event) in recorded order
Timed = list[tuple[float, dict[str, Any]]]


class Pacing(Protocol):
    """How the test holds the server between a request's events and its answer."""

    async def settle(self, kind: str, sent: int) -> None:
        """Events first: ``sent`` events went out in all; return to answer."""

    async def answered(self, kind: str) -> None:
        """Answer first: the answer went out; return to send the events."""


_ACTIONS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("originate", "POST", re.compile(r"/ari/channels")),
    ("create_bridge", "POST", re.compile(r"/ari/bridges(/[^/]+)?")),
    ("add_channel", "POST", re.compile(r"/ari/bridges/[^/]+/addChannel")),
    ("record", "POST", re.compile(r"/ari/bridges/[^/]+/record")),
    ("destroy_bridge", "DELETE", re.compile(r"/ari/bridges/[^/]+")),
    ("hangup", "DELETE", re.compile(r"/ari/channels/[^/]+")),
    ("stop_recording", "POST", re.compile(r"/ari/recordings/live/[^/]+/stop")),
    # the engine subscribes to nothing: endpoint events stay with this request
    ("subscribe", "POST", re.compile(r"/ari/applications/[^/]+/subscription")),
)


def load_trace(name: str) -> list[dict[str, Any]]:
    """The records of one trace file, by its number prefix (``"01"``)."""
    (path,) = TRACES.glob(f"{name}-*.jsonl")

    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def action_of(method: str, path: str) -> str | None:
    """The kind of action a request is, or None for a request that only looks."""
    for kind, verb, pattern in _ACTIONS:
        if method == verb and pattern.fullmatch(path):
            return kind

    return None


@dataclass
class Segment:
    """One action request of the trace: its answer and the events after it."""

    kind: str
    request: dict[str, Any]
    events: Timed = field(default_factory=list)


def segments_of(records: list[dict[str, Any]]) -> list[Segment]:
    """
    Cut a trace into segments; events before the first action are dropped.

    An event belongs to the last action sent strictly before it arrived
    (``t_sent``, in ms: a tie goes to the earlier action, which the later one
    may have reacted to), even when its line comes before that action's
    answer in the file.
    """
    segments = [
        Segment(kind, record)
        for record in records
        if record["kind"] == "rest"
        and (kind := action_of(record["method"], record["path"])) is not None
    ]
    sent_at = [_sent_at(s.request) for s in segments]
    for record in records:
        if record["kind"] == "event":
            owner = bisect.bisect_left(sent_at, record["t"]) - 1
            if owner >= 0:
                segments[owner].events.append((record["t"], record["event"]))

    return segments


def from_originate(records: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The records of the ``n``-th originate (0-based) up to the next one."""
    starts = [
        i
        for i, r in enumerate(records)
        if r["kind"] == "rest" and action_of(r["method"], r["path"]) == "originate"
    ]
    end = starts[n + 1] if n + 1 < len(starts) else len(records)

    return records[starts[n] : end]


def silent_wav(seconds: float) -> bytes:
    """A WAV like Asterisk's: 8 kHz, 16-bit, mono, silent."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * int(8000 * seconds))

    return out.getvalue()


class IdMap:
    """Trace ids (Asterisk's) to the ids the engine chose, rewritten in JSON."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def learn(self, trace_id: str | None, engine_id: str | None) -> None:
        """Use ``engine_id`` wherever the trace says ``trace_id``."""
        if trace_id and engine_id and trace_id != engine_id:
            self.ids[trace_id] = engine_id

    def rewrite(self, value: Any) -> Any:
        """``value`` (parsed JSON) with every known trace id replaced."""
        if not self.ids:
            return value
        keys = sorted(self.ids, key=len, reverse=True)
        pattern = re.compile(
            r"(?<![\w.-])(" + "|".join(map(re.escape, keys)) + r")(?![\w.-])"
        )
        text = pattern.sub(lambda m: self.ids[m.group(1)], json.dumps(value))

        return json.loads(text)


class TraceServer:
    """
    Serves one recorded trace as ARI on ``url`` (``http://127.0.0.1:<port>``).

    ``pacing`` is awaited between a segment's events and its answer, so that
    the test can make sure the engine saw the first before the second comes.
    ``time_scale`` keeps the recorded gaps between events, scaled (0: none).
    """

    def __init__(
        self,
        records: list[dict[str, Any]],
        *,
        order: Order,
        pacing: Pacing | None = None,
        time_scale: float = 0.0,
    ) -> None:
        self.segments = segments_of(records)
        self.order = order
        self.pacing = pacing
        self.time_scale = time_scale
        self.ids = IdMap()
        self.requests: list[tuple[str, str]] = []
        self.endpoints: list[str] = []
        self.unexpected: list[tuple[str, str]] = []
        self.sent: list[dict[str, Any]] = []
        self.destroyed: set[str] = set()
        self.finished: dict[str, int] = {}
        self.app_args: list[str] = []
        self.url = ""
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self._asterisk_id = next(
            (e["asterisk_id"] for s in self.segments for _, e in s.events), "trace"
        )

    async def start(self) -> None:
        """Listen on a free local port."""
        app = web.Application()
        app.router.add_get("/ari/events", self._events)
        app.router.add_route("*", "/ari/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Close the sockets and the listener."""
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def take(self, kind: str) -> Segment | None:
        """
        The next unused segment of a kind.

        Segments before it are requests of the trace client that the engine
        does not make (a second ``addChannel`` on a dead channel): their
        events go out with this one's, first, so none is lost or reordered.
        """
        for i, segment in enumerate(self.segments):
            if segment.kind == kind:
                skipped = self.segments[:i]
                del self.segments[: i + 1]
                earlier = [event for s in skipped for event in s.events]
                segment.events[:0] = earlier
                return segment

        return None

    # WebSocket ---------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        try:
            async for _ in ws:
                pass
        finally:
            self._sockets.remove(ws)

        return ws

    async def push(self, events: Timed, since: tuple[float, float] = (0, 0)) -> int:
        """
        Send events (ids rewritten) to every socket; returns how many.

        With a ``time_scale``, each event waits until its recorded time after
        ``since`` (this loop's time, the trace's time), scaled.
        """
        loop = asyncio.get_running_loop()
        for t, raw in events:
            if self.time_scale:
                due = since[0] + (t - since[1]) * self.time_scale
                await asyncio.sleep(max(0.0, due - loop.time()))
            event = self.ids.rewrite(raw)
            if event["type"] == "StasisStart" and self.app_args:
                event["args"] = list(self.app_args)
            self._note(event)
            self.sent.append(event)
            for ws in self._sockets:
                if not ws.closed:
                    await ws.send_str(json.dumps(event))

        return len(events)

    def _note(self, event: dict[str, Any]) -> None:
        if event["type"] == "ChannelDestroyed":
            self.destroyed.add(event["channel"]["id"])
        elif event["type"] == "RecordingFinished":
            recording = event["recording"]
            self.finished[recording["name"]] = int(recording.get("duration") or 0)

    # REST --------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        kind = action_of(request.method, request.path)
        segment = self.take(kind) if kind is not None else None
        if segment is None:
            return self._answer_from_state(request)
        self._learn(segment, request)
        response = self._recorded_answer(segment)
        before, after = self._split(segment)
        since = (asyncio.get_running_loop().time(), _sent_at(segment.request))
        await self.push(before, since)
        if self.pacing is not None:
            await self.pacing.settle(segment.kind, len(self.sent))
        await response.prepare(request)
        await response.write_eof()
        if self.pacing is not None:
            await self.pacing.answered(segment.kind)
        await self.push(after, since)

        return response

    def _split(self, segment: Segment) -> tuple[Timed, Timed]:
        events = segment.events
        if self.order == "events-first":
            return events, []
        if self.order == "answer-first":
            return [], events
        answered_at = segment.request["t"]
        cut = sum(1 for t, _ in events if t < answered_at)

        return events[:cut], events[cut:]

    def _learn(self, segment: Segment, request: web.Request) -> None:
        recorded, query = segment.request, request.query
        answer = recorded.get("response")
        answer = answer if isinstance(answer, dict) else {}
        if segment.kind == "originate":
            self.ids.learn(answer.get("id"), query.get("channelId"))
            self.endpoints.append(query.get("endpoint", ""))
            self.app_args = (query.get("appArgs") or "").split(",")
        elif segment.kind == "create_bridge":
            self.ids.learn(answer.get("id"), request.path.rsplit("/", 1)[-1])
        elif segment.kind == "record":
            self.ids.learn(answer.get("name"), query.get("name"))

    def _recorded_answer(self, segment: Segment) -> web.Response:
        status = int(segment.request["status"])
        body = segment.request.get("response")
        if body is None:
            return web.Response(status=status)

        return web.json_response(self.ids.rewrite(body), status=status)

    def _answer_from_state(self, request: web.Request) -> web.Response:
        method, path = request.method, request.path
        parts = path.removeprefix("/ari/").split("/")
        if method == "GET" and path in ("/ari/channels", "/ari/bridges"):
            return web.json_response([])
        if method == "GET" and path == "/ari/asterisk/info":
            return web.json_response(self._info())
        if parts[0] == "channels" and len(parts) >= 2:
            if parts[1] in self.destroyed:
                return _error(404, "Channel not found")
            if method == "DELETE" and len(parts) == 2:
                return web.Response(status=204)
        if parts[:2] == ["recordings", "stored"] and len(parts) >= 3:
            return self._stored(method, parts[2], parts[3:])
        if parts[:2] == ["recordings", "live"] and parts[2] in self.finished:
            return _error(404, "Recording not found")
        if method == "DELETE" and parts[0] == "bridges" and len(parts) == 2:
            return web.Response(status=204)
        self.unexpected.append((method, path))

        return _error(404, "Resource not found")

    def _stored(self, method: str, name: str, rest: list[str]) -> web.Response:
        if name not in self.finished:
            return _error(404, "Recording not found")
        if method == "DELETE":
            del self.finished[name]
            return web.Response(status=204)
        if rest == ["file"]:
            wav = silent_wav(max(1, self.finished[name]))
            return web.Response(body=wav, content_type="audio/wav")

        return web.json_response({"name": name, "format": "wav"})

    def _info(self) -> dict[str, Any]:
        return {
            "system": {"entity_id": self._asterisk_id, "version": "22.10.1"},
            "status": {"startup_time": "2026-12-03T15:56:00.000+0000"},
        }


def _sent_at(request: dict[str, Any]) -> float:
    return float(request.get("t_sent", request["t"]))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)
