"""
``outdial sim``: run the ARI simulator on a port.
"""

import asyncio
import contextlib
from pathlib import Path

import click

from engine.cli.common import run, setup
from engine.sim import RandomModel, Simulator


@click.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
@click.option(
    "--port", default=8088, show_default=True, type=int, help="Port (0: any free)."
)
@click.option(
    "--username", default=None, help="ARI user (default: OUTDIAL_ARI_USERNAME)."
)
@click.option(
    "--password", default=None, help="ARI password (default: OUTDIAL_ARI_PASSWORD)."
)
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=float,
    help="Multiplier of every simulated delay (0.01: 100x faster).",
)
@click.option("--seed", default=None, type=int, help="Seed of the random party model.")
@click.option(
    "--answer-rate",
    default=None,
    type=float,
    help="Use a random party model with this answer rate.",
)
@click.option(
    "--softphone",
    "softphones",
    multiple=True,
    help="Register PJSIP/<ext> softphones (repeatable).",
)
@click.option(
    "--trace-dialplan",
    is_flag=True,
    help="Numbers 7999000000N behave as in the reference traces.",
)
@click.option(
    "--recordings-dir",
    default=None,
    type=click.Path(path_type=Path),
    help="Also write finished recordings here as WAV files.",
)
def sim(
    host: str,
    port: int,
    username: str | None,
    password: str | None,
    time_scale: float,
    seed: int | None,
    answer_rate: float | None,
    softphones: tuple[str, ...],
    trace_dialplan: bool,
    recordings_dir: Path | None,
) -> None:
    """Run an ARI-compatible Asterisk simulator until interrupted."""
    settings = setup()
    simulator = Simulator(
        username=username or settings.ari_username,
        password=password or settings.ari_password.get_secret_value(),
        time_scale=time_scale,
        seed=seed,
        recordings_dir=recordings_dir,
    )
    if answer_rate is not None:
        simulator.parties.default = RandomModel(answer_rate=answer_rate)
    if trace_dialplan:
        simulator.load_trace_dialplan()

    async def serve() -> None:
        await simulator.start(host, port)
        for ext in softphones:
            simulator.softphones.register(ext)
        click.echo(f"ARI simulator listening on {simulator.url}/ari")
        try:
            await asyncio.Event().wait()
        finally:
            await simulator.stop()

    with contextlib.suppress(KeyboardInterrupt):
        run(serve())


COMMANDS = [sim]
