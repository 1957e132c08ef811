"""
``outdial web``: the operator desktop and live board; ``outdial script``: the
per-campaign call scripts the desktop shows.
"""

import asyncio
import contextlib
import json
from pathlib import Path

import click
import structlog
from aiohttp import web as aioweb

from engine.cli.common import database, run, setup
from engine.exceptions import ConfigError
from engine.web.app import create_app
from engine.web.scripts import load_script, save_script

log = structlog.get_logger(__name__)


@click.command()
@click.option("--host", help="Address to listen on [default: OUTDIAL_WEB_HOST].")
@click.option("--port", type=int, help="Port [default: OUTDIAL_WEB_PORT].")
def web(host: str | None, port: int | None) -> None:
    """Serve the operator desktop and the directors' live board."""
    settings = setup()
    host = host or settings.web_host
    port = settings.web_port if port is None else port

    async def serve() -> None:
        async with database(settings) as pool:
            runner = aioweb.AppRunner(create_app(settings, pool), access_log=None)
            await runner.setup()
            try:
                await aioweb.TCPSite(runner, host, port).start()
                log.info("web_started", host=host, port=port)
                await asyncio.Event().wait()
            finally:
                await runner.cleanup()
                log.info("web_stopped")

    # Ctrl-C is the normal way to stop the server; runner.cleanup() has run.
    with contextlib.suppress(KeyboardInterrupt):
        run(serve())


@click.group()
def script() -> None:
    """Call scripts shown on the operator desktop, one per campaign."""


async def _campaign_id(pool: object, ref: str) -> int:
    found = await pool.fetchval(  # type: ignore[attr-defined]
        "SELECT id FROM campaigns WHERE id::text = $1 OR name = $1", ref
    )
    if found is None:
        raise ConfigError(f"no campaign {ref!r}")

    return int(found)


@script.command("set")
@click.argument("campaign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", default="admin", show_default=True, help="Who is acting.")
def set_script(campaign: str, file: Path, actor: str) -> None:
    """
    Store a campaign's script from a JSON file.

    The file holds "opening", "identity_check", "purpose", "body", "closing"
    (text; {institution} and {operator} are filled in on the desktop) and
    "questions": [{"q": ..., "a": ...}].
    """
    settings = setup()
    try:
        content = json.loads(file.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file} is not valid json: {exc}") from exc

    async def go() -> None:
        async with database(settings) as pool:
            await save_script(
                pool, await _campaign_id(pool, campaign), content, actor=actor
            )

    run(go())
    click.echo(f"script of campaign {campaign} saved")


@script.command("show")
@click.argument("campaign")
def show_script(campaign: str) -> None:
    """Print a campaign's script as JSON."""
    settings = setup()

    async def go() -> object:
        async with database(settings) as pool:
            return await load_script(pool, await _campaign_id(pool, campaign))

    stored = run(go())
    click.echo(json.dumps(stored or {}, ensure_ascii=False, indent=2))


COMMANDS = [web, script]
