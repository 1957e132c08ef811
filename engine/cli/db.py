"""
``outdial db``: schema management.
"""

import click

from engine.cli.common import database, run, setup


@click.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
def upgrade() -> None:
    """Apply every migration in migrations/ that is not applied yet."""
    settings = setup()

    async def go() -> list[str]:
        async with database(settings, upgrade=False) as pool, pool.acquire() as conn:
            from engine.db import migrations

            return await migrations.upgrade(conn)

    applied = run(go())
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("schema is up to date")


COMMANDS = [db]
