"""
``outdial run``: the call controller, dialling every running campaign.
"""

import asyncio
import contextlib
import signal

import click

from engine.ari import AriClient
from engine.cli.common import database, run, setup
from engine.clock import SystemClock
from engine.compliance.gate import ComplianceGate
from engine.db.dsn import resolve_dsn
from engine.dialer.engine import build_engine
from engine.operators.wiring import build_operators
from engine.settings import Settings


async def serve(settings: Settings, *, until_idle: bool = False) -> None:
    """Run one engine until SIGTERM/SIGINT (or until idle)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    dsn = await asyncio.to_thread(resolve_dsn, settings)
    async with database(settings) as pool:
        # Not "async with": the engine subscribes its handlers before connecting.
        ari = AriClient.from_settings(settings)
        try:
            # Every call passes the compliance gate: windows, do-not-call,
            # approved caller ids, attempt limits.
            gates = [ComplianceGate(settings)]
            engine = build_engine(
                settings, pool, ari, SystemClock(), gates=gates, dsn=dsn
            )
            # Campaigns with settings.operators get operators; others the defaults.
            operators = build_operators(settings, pool, ari, SystemClock())
            operators.attach(engine)
            async with operators.running():
                await engine.run(stop, until_idle=until_idle)
        finally:
            await ari.close()


@click.command("run")
@click.option(
    "--until-idle",
    is_flag=True,
    help="Exit once no campaign is running and every call and recording is done.",
)
def run_command(until_idle: bool) -> None:
    """Connect to ARI and Postgres and dial every running campaign."""
    settings = setup()
    run(serve(settings, until_idle=until_idle))


COMMANDS = [run_command]
