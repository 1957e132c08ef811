"""
ARI client benchmark: what this machine's aiohttp can do, and what our client
does against the simulator, in one run of under a minute, on loopback.

    .venv/bin/python bench/ari_bench.py [--seconds 2] [--rounds 2] [--concurrency 16]

1. raw aiohttp: a bare ``aiohttp.ClientSession`` hammering a trivial aiohttp
   server in another process (the ceiling for any client on this machine),
   and the simulator's ``/ari/asterisk/ping`` (the same server our client
   meets, so the difference to 2 is the client's own cost);
2. client REST: ``AriClient.ping()`` and ``AriClient.get_channel()`` against
   the simulator (``outdial sim``) in another process, same concurrency.
   1 and 2 are interleaved for ``--rounds`` rounds and the best round of
   each is shown: the machine is shared, and a neighbour's burst should not
   decide the comparison;
3. client events: many short calls originated at a small ``time_scale``;
   events received and dispatched per second, counted by a ``"*"`` handler
   (bounded by how fast the simulator makes them);
4. the same event frames parsed and dispatched in-process, five times over:
   the client's own ceiling for events, without the simulator.

Servers run in child processes so that the figures include real socket work
on both sides and the client process has one core of its own (where the
machine has two).
"""

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
import psutil
from aiohttp import web
from rich.console import Console
from rich.table import Table

from engine.ari import AriClient, AriNotFoundError, Event
from engine.ari.dispatch import Dispatcher
from engine.ari.models import parse_event
from engine.ari.rest import basic_auth_header
from engine.logging import configure_logging

USER, PASSWORD, APP = "outdial", "outdial", "bench"
STAY_UP = "8613800000099"  # answers and stays up: the channel of get_channel()
SHORT = "8613800000001"  # answers and hangs up at once: the event stream


@dataclass
class Figure:
    """One measured rate, with the CPU both sides used meanwhile."""

    name: str
    count: int
    seconds: float
    cpu_percent: float
    server_cpu_percent: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _trivial_server(port: int) -> None:
    async def ping(request: web.Request) -> web.Response:
        return web.json_response({"ping": "pong", "asterisk_id": "00:00:00:00:00:00"})

    app = web.Application()
    app.router.add_get("/ari/asterisk/ping", ping)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def wait_http(url: str, deadline: float = 15.0) -> None:
    """Poll a URL until it answers at all (any status)."""
    async with aiohttp.ClientSession() as session:
        end = time.monotonic() + deadline
        while True:
            try:
                async with session.get(url) as resp:
                    await resp.read()
                    return
            except aiohttp.ClientError:
                if time.monotonic() > end:
                    raise
                await asyncio.sleep(0.05)


class CpuMeter:
    """CPU use of this process and of the server process over an interval."""

    def __init__(self, server_pid: int) -> None:
        self._mine = psutil.Process()
        self._server = psutil.Process(server_pid)
        self._mine.cpu_percent()
        self._server.cpu_percent()

    def read(self) -> tuple[float, float]:
        """Percent of one core since creation: (client, server)."""
        return self._mine.cpu_percent(), self._server.cpu_percent()


async def hammer(
    name: str,
    call: Callable[[], Awaitable[object]],
    concurrency: int,
    seconds: float,
    server_pid: int,
    note: str = "",
) -> Figure:
    """Run ``call`` from ``concurrency`` workers for ``seconds``."""
    count = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < stop:
            await call()
            count += 1

    meter = CpuMeter(server_pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started

    return Figure(name, count, elapsed, *meter.read(), note)


@contextlib.contextmanager
def trivial_server(port: int) -> Iterator[int]:
    """The trivial aiohttp server in a child process; yields its pid."""
    server = multiprocessing.get_context("spawn").Process(
        target=_trivial_server, args=(port,), daemon=True
    )
    server.start()
    try:
        assert server.pid is not None
        yield server.pid
    finally:
        server.terminate()
        server.join(5)


async def bench_raw(
    name: str, url: str, pid: int, concurrency: int, seconds: float, note: str
) -> Figure:
    """A bare ``aiohttp.ClientSession`` GETting one URL as fast as it can."""
    headers = {"Authorization": basic_auth_header(USER, PASSWORD)}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def get() -> None:
            async with session.get(url) as resp:
                await resp.read()

        return await hammer(name, get, concurrency, seconds, pid, note)


@contextlib.contextmanager
def simulator(port: int, time_scale: float) -> Iterator[subprocess.Popen[bytes]]:
    """``outdial sim`` in a child process."""
    outdial = Path(sys.executable).with_name("outdial")
    command = [str(outdial), "sim", "--port", str(port), "--time-scale"]
    command += [str(time_scale), "--username", USER, "--password", PASSWORD]
    env = {**os.environ, "OUTDIAL_LOG_LEVEL": "WARNING"}
    child = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)


async def set_rule(url: str, match: str, behaviour: dict[str, object]) -> None:
    """Tell the simulator how numbers matching ``match`` behave."""
    headers = {"Authorization": basic_auth_header(USER, PASSWORD)}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.post(
            url + "/_sim/parties/rules", json={"match": match, "behaviour": behaviour}
        ) as resp,
    ):
        resp.raise_for_status()


async def connected_client(url: str) -> AriClient:
    """A client whose WebSocket is up and re-synced."""
    client = AriClient(url, USER, PASSWORD, APP)
    await client.connect()
    async with asyncio.timeout(15):
        await client.connected.wait()

    return client


async def bench_client_rest(
    client: AriClient, channel_id: str, pid: int, concurrency: int, seconds: float
) -> list[Figure]:
    """``ping()`` and ``get_channel()`` through our client."""

    async def get_channel() -> None:
        await client.get_channel(channel_id)

    return [
        await hammer("client ping()", client.ping, concurrency, seconds, pid),
        await hammer(
            "client get_channel()", get_channel, concurrency, seconds, pid, "parsed"
        ),
    ]


async def bench_rest_rounds(
    args: argparse.Namespace, trivial: tuple[str, int], sim: tuple[str, int]
) -> list[Figure]:
    """Interleave raw and client REST measures; keep each one's best round."""
    (trivial_url, trivial_pid), (url, pid) = trivial, sim
    await set_rule(url, STAY_UP, {"kind": "answer", "after": 0.5})
    client = await connected_client(url)
    best: dict[str, Figure] = {}
    try:
        channel = await client.originate(f"PJSIP/{STAY_UP}@trunk", timeout=60)
        for _ in range(args.rounds):
            figures = [
                await bench_raw(
                    "raw aiohttp GET",
                    trivial_url,
                    trivial_pid,
                    args.concurrency,
                    args.seconds,
                    "bare client, trivial server",
                ),
                await bench_raw(
                    "raw aiohttp GET /ping",
                    url + "/ari/asterisk/ping",
                    pid,
                    args.concurrency,
                    args.seconds,
                    "bare client, simulator",
                ),
                *await bench_client_rest(
                    client, channel.id, pid, args.concurrency, args.seconds
                ),
            ]
            for figure in figures:
                if figure.name not in best or figure.rate > best[figure.name].rate:
                    best[figure.name] = figure
        with contextlib.suppress(AriNotFoundError):
            await client.hangup(channel.id)
    finally:
        await client.close()

    return list(best.values())


async def bench_client_events(
    url: str, pid: int, calls: int, concurrency: int, frames: list[bytes]
) -> Figure:
    """Events received and dispatched while many short calls run."""
    await set_rule(url, SHORT, {"kind": "answer", "after": 0.5, "hangup_after": 1.0})
    received = 0
    ids = {f"bench-{n}" for n in range(calls)}
    pending = set(ids)
    all_done = asyncio.Event()

    async def count(event: Event) -> None:
        nonlocal received
        received += 1
        frames.append(orjson.dumps(event.raw))
        if event.type == "ChannelDestroyed" and event.channel_id in pending:
            pending.discard(event.channel_id)
            if not pending:
                all_done.set()

    client = await connected_client(url)
    client.on("*", count)
    limit = asyncio.Semaphore(concurrency)

    async def originate(channel_id: str) -> None:
        async with limit:
            await client.originate(f"PJSIP/{SHORT}@trunk", channel_id=channel_id)

    try:
        meter = CpuMeter(pid)
        started = time.perf_counter()
        await asyncio.gather(*(originate(i) for i in sorted(ids)))
        async with asyncio.timeout(40):
            await all_done.wait()
        await client.join()
        elapsed = time.perf_counter() - started
        cpu = meter.read()
    finally:
        await client.close()

    return Figure(
        "client events dispatched", received, elapsed, *cpu, f"{calls} short calls"
    )


async def bench_dispatch(frames: list[bytes]) -> Figure:
    """Parse and dispatch captured frames in-process: the client's own ceiling."""
    dispatcher = Dispatcher()
    handled = 0

    async def count(event: Event) -> None:
        nonlocal handled
        handled += 1

    dispatcher.add("*", count)
    meter = CpuMeter(os.getpid())
    started = time.perf_counter()
    for _ in range(5):
        for frame in frames:
            dispatcher.dispatch(parse_event(frame))
        await dispatcher.join()
    elapsed = time.perf_counter() - started
    cpu, _ = meter.read()

    return Figure(
        "parse + ordered dispatch", handled, elapsed, cpu, 0.0, "in-process, no socket"
    )


def render(figures: list[Figure], console: Console) -> None:
    """Print the figures as a table."""
    load = ", ".join(f"{x:.1f}" for x in psutil.getloadavg())
    table = Table(
        title="ARI client benchmark (loopback, servers in child processes)",
        caption=f"{psutil.cpu_count()} cpus, load average {load}; cpu % is of one core",
    )
    columns = ("measure", "count", "seconds", "per second", "client cpu %")
    for column in (*columns, "server cpu %", "note"):
        table.add_column(
            column, justify="left" if column in ("measure", "note") else "right"
        )
    for f in figures:
        table.add_row(
            f.name,
            str(f.count),
            f"{f.seconds:.2f}",
            f"{f.rate:,.0f}",
            f"{f.cpu_percent:.0f}",
            f"{f.server_cpu_percent:.0f}",
            f.note,
        )
    console.print(table)


async def main(args: argparse.Namespace) -> None:
    """Run the measurements and print them."""
    configure_logging("WARNING", "console")
    trivial_port, sim_port = free_port(), free_port()
    trivial_url = f"http://127.0.0.1:{trivial_port}/ari/asterisk/ping"
    url = f"http://127.0.0.1:{sim_port}"
    frames: list[bytes] = []
    with (
        trivial_server(trivial_port) as trivial_pid,
        simulator(sim_port, args.time_scale) as child,
    ):
        await wait_http(trivial_url)
        await wait_http(url + "/ari/asterisk/ping")
        figures = await bench_rest_rounds(
            args, (trivial_url, trivial_pid), (url, child.pid)
        )
        figures.append(
            await bench_client_events(
                url, child.pid, args.calls, args.concurrency, frames
            )
        )
    figures.append(await bench_dispatch(frames))
    render(figures, Console(width=120))


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--time-scale", type=float, default=0.001)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
