"""
The events WebSocket against servers that misbehave in ways only the transport
can show: Asterisk's refused upgrades (the exact bytes of trace 07), a server
that closes cleanly at once, one that never answers, one that stops answering
pings, and ``ApplicationReplaced``. Sleeps are injected: nothing really waits
for a backoff delay.
"""

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import orjson
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from engine.ari import AriClient, AriConnectionError, AriProtocolError, Backoff, Event

# Asterisk 22's answer to an upgrade with a wrong password (trace 07, seq 131).
REFUSED_401 = (
    b"HTTP/1.1 401 Unauthorized\r\n"
    b"Server: Asterisk\r\n"
    b"Date: Thu, 03 Dec 2026 15:57:50 GMT\r\n"
    b"Cache-Control: no-cache, no-store\r\n"
    b'WWW-Authenticate: Basic realm="Asterisk REST Interface"\r\n'
    b"Content-type: application/json\r\n"
    b"Content-Length: 37\r\n"
    b"\r\n"
    b'{"message":"Authentication required"}'
)

# ... and to an upgrade without ``app`` (seq 132): two responses back to back
# on one connection, which Asterisk then keeps open.
REFUSED_400_TWICE = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Server: Asterisk\r\n"
    b"Date: Thu, 03 Dec 2026 15:57:51 GMT\r\n"
    b"Cache-Control: no-cache, no-store\r\n"
    b"Content-type: text/html\r\n"
    b"Content-Length: 233\r\n"
    b"\r\n"
    b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n'
    b"<html><head>\r\n"
    b"<title>400 Bad Request</title>\r\n"
    b"</head><body>\r\n"
    b"<h1>Bad Request</h1>\r\n"
    b"<p>HTTP request is missing param: [app]</p>\r\n"
    b"<hr />\r\n"
    b"<address>Asterisk</address>\r\n"
    b"</body></html>\r\n"
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Server: Asterisk\r\n"
    b"Date: Thu, 03 Dec 2026 15:57:51 GMT\r\n"
    b"Cache-Control: no-cache, no-store\r\n"
    b"Sec-WebSocket-Version: 7, 8, 13\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


@dataclass
class SleepRecorder:
    """An injected sleep: records each delay, returns at once."""

    stop_after: int
    delays: list[float] = field(default_factory=list)
    enough: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if len(self.delays) >= self.stop_after:
            self.enough.set()
        await asyncio.sleep(0)


@dataclass
class RawConnection:
    """What a raw server saw on one TCP connection."""

    requests: list[bytes] = field(default_factory=list)
    closed_by_client: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class RawServer:
    """An asyncio TCP server that answers every request with fixed bytes."""

    answer: bytes | None
    connections: list[RawConnection] = field(default_factory=list)
    url: str = ""

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        seen = RawConnection()
        self.connections.append(seen)
        buffer = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                request, buffer = buffer.split(b"\r\n\r\n", 1)
                seen.requests.append(request)
                if self.answer is not None:
                    writer.write(self.answer)
        seen.closed_by_client.set()
        writer.close()


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[bytes | None], Awaitable[RawServer]]]:
    servers: list[asyncio.Server] = []

    async def start(answer: bytes | None) -> RawServer:
        state = RawServer(answer)
        server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        state.url = f"http://127.0.0.1:{port}"
        return state

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def _client(url: str, sleep: SleepRecorder, **kwargs: object) -> AriClient:
    return AriClient(
        url,
        "engine",
        "engine-secret",
        "outdial",
        backoff=Backoff(rng=random.Random(1)),
        sleep=sleep,
        **kwargs,  # type: ignore[arg-type]
    )


async def _run_until(client: AriClient, sleep: SleepRecorder) -> None:
    await client.connect()
    try:
        async with asyncio.timeout(20):
            await sleep.enough.wait()
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("answer", "status"), [(REFUSED_401, 401), (REFUSED_400_TWICE, 400)]
)
async def test_events_refused_upgrade_connection_closed_never_reused(
    raw_server, answer, status
):
    server = await raw_server(answer)
    sleep = SleepRecorder(stop_after=3)

    with capture_logs() as logs:
        await _run_until(_client(server.url, sleep), sleep)
    async with asyncio.timeout(5):
        for seen in server.connections:
            await seen.closed_by_client.wait()

    assert len(server.connections) >= 3
    assert all(len(seen.requests) == 1 for seen in server.connections)
    refused = [e for e in logs if e["event"] == "ari_ws_refused"]
    assert len(refused) >= 3
    assert {e["status"] for e in refused} == {status}
    assert "engine-secret" not in repr(logs)


async def test_events_refused_upgrade_sends_basic_auth_and_app(raw_server):
    server = await raw_server(REFUSED_401)
    sleep = SleepRecorder(stop_after=1)

    await _run_until(_client(server.url, sleep), sleep)

    request = server.connections[0].requests[0].decode()
    assert request.startswith("GET /ari/events?app=outdial&subscribeAll=false ")
    assert "Authorization: Basic ZW5naW5lOmVuZ2luZS1zZWNyZXQ=" in request
    assert "api_key" not in request


async def test_events_server_never_answers_upgrade_times_out(raw_server):
    server = await raw_server(None)
    sleep = SleepRecorder(stop_after=2)

    with capture_logs() as logs:
        await _run_until(_client(server.url, sleep, connect_timeout=0.2), sleep)
    async with asyncio.timeout(5):
        await server.connections[0].closed_by_client.wait()

    failed = [e for e in logs if e["event"] == "ari_ws_connect_failed"]
    assert len(failed) >= 2
    assert len(server.connections) >= 2


async def test_events_nothing_listening_keeps_retrying(unused_tcp_port):
    sleep = SleepRecorder(stop_after=4)

    with capture_logs() as logs:
        await _run_until(_client(f"http://127.0.0.1:{unused_tcp_port}", sleep), sleep)

    scheduled = [e for e in logs if e["event"] == "ari_reconnect_scheduled"]
    assert [e["attempt"] for e in scheduled[:4]] == [1, 2, 3, 4]
    assert all(e["log_level"] == "warning" for e in scheduled)


@dataclass
class FakeAri:
    """A tiny aiohttp ARI: empty REST answers and a scripted WebSocket."""

    on_socket: Callable[[web.WebSocketResponse], Awaitable[None]]
    sockets: int = 0
    url: str = ""

    async def events(self, request: web.Request) -> web.StreamResponse:
        self.sockets += 1
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        await self.on_socket(ws)
        return ws

    async def empty_list(self, request: web.Request) -> web.Response:
        return web.json_response([])

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "system": {"entity_id": "02:fc:00:00:00:09"},
                "status": {"startup_time": "2026-12-03T15:56:29.512+0000"},
            }
        )


@pytest.fixture
async def fake_ari() -> AsyncIterator[Callable[..., Awaitable[FakeAri]]]:
    runners: list[web.AppRunner] = []

    async def start(on_socket: Callable[[web.WebSocketResponse], Awaitable[None]]):
        fake = FakeAri(on_socket)
        app = web.Application()
        app.router.add_get("/ari/events", fake.events)
        app.router.add_get("/ari/channels", fake.empty_list)
        app.router.add_get("/ari/bridges", fake.empty_list)
        app.router.add_get("/ari/asterisk/info", fake.info)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        fake.url = f"http://127.0.0.1:{port}"
        return fake

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_events_clean_close_backs_off_without_reset(fake_ari):
    async def close_at_once(ws: web.WebSocketResponse) -> None:
        await ws.close()

    fake = await fake_ari(close_at_once)
    sleep = SleepRecorder(stop_after=5)

    with capture_logs() as logs:
        await _run_until(_client(fake.url, sleep), sleep)

    scheduled = [e for e in logs if e["event"] == "ari_reconnect_scheduled"]
    assert [e["attempt"] for e in scheduled[:5]] == [1, 2, 3, 4, 5]
    assert fake.sockets >= 5
    disconnected = [e for e in logs if e["event"] == "ari_ws_disconnected"]
    assert disconnected[0]["code"] == 1000


async def test_events_silent_server_heartbeat_ends_connection(fake_ari):
    async def never_pong(ws: web.WebSocketResponse) -> None:
        async for _ in ws:  # pings arrive as messages and get no pong
            pass

    fake = await fake_ari(never_pong)
    sleep = SleepRecorder(stop_after=1)

    with capture_logs() as logs:
        await _run_until(_client(fake.url, sleep, heartbeat=0.2), sleep)

    names = [e["event"] for e in logs]
    assert names.index("ari_ws_connected") < names.index("ari_ws_disconnected")
    assert "ari_reconnect_scheduled" in names


async def test_events_application_replaced_stops_without_fighting(fake_ari):
    async def replace(ws: web.WebSocketResponse) -> None:
        message = {
            "type": "ApplicationReplaced",
            "timestamp": "2026-12-03T15:56:30.281+0000",
            "application": "outdial",
            "asterisk_id": "02:fc:00:00:00:01",
        }
        await ws.send_str(orjson.dumps(message).decode())
        async for _ in ws:
            pass

    fake = await fake_ari(replace)
    sleep = SleepRecorder(stop_after=1)
    client = _client(fake.url, sleep)
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    client.on("ApplicationReplaced", record)
    with capture_logs() as logs:
        await client.connect()
        async with asyncio.timeout(10):
            await client.replaced.wait()
            assert client.stream.task is not None
            await client.stream.task
        await client.join()
        await client.close()

    assert [e.type for e in seen] == ["ApplicationReplaced"]
    assert sleep.delays == []
    assert fake.sockets == 1
    warned = [e for e in logs if e["event"] == "ari_app_replaced"]
    assert warned[0]["log_level"] == "warning"


async def test_rest_server_never_answers_raises_connection_error(raw_server):
    server = await raw_server(None)
    client = AriClient(
        server.url, "engine", "engine-secret", "outdial", request_timeout=0.2
    )

    with pytest.raises(AriConnectionError) as caught:
        await client.ping()
    await client.close()

    assert (caught.value.method, caught.value.path) == ("GET", "/asterisk/ping")


async def test_rest_nothing_listening_raises_connection_error(unused_tcp_port):
    client = AriClient(f"http://127.0.0.1:{unused_tcp_port}", "u", "p", "outdial")

    with pytest.raises(AriConnectionError, match="request failed"):
        await client.list_channels()
    await client.close()


async def test_rest_answer_not_json_raises_protocol_error(raw_server):
    server = await raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    client = AriClient(server.url, "engine", "engine-secret", "outdial")

    with pytest.raises(AriProtocolError, match="not valid json"):
        await client.asterisk_info()
    await client.close()


async def test_events_replaced_with_pause_takes_app_back_once(fake_ari):
    async def replace_first(ws: web.WebSocketResponse) -> None:
        if fake.sockets == 1:
            replaced = {"type": "ApplicationReplaced", "application": "outdial"}
            await ws.send_str(orjson.dumps(replaced).decode())
        async for _ in ws:
            pass

    fake = await fake_ari(replace_first)
    sleep = SleepRecorder(stop_after=1)
    client = _client(fake.url, sleep, reconnect_after_replaced=300.0)

    await client.connect()
    async with asyncio.timeout(10):
        await sleep.enough.wait()
        await client.connected.wait()
    await client.close()

    assert sleep.delays == [300.0]
    assert fake.sockets == 2
    assert client.replaced.is_set() is False
