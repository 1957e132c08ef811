"""
Entry point of the ``outdial`` console command.
"""

import importlib
import pkgutil

import click

import engine
import engine.cli


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(engine.__version__, prog_name="outdial")
def cli() -> None:
    """Outbound calling campaigns for bank contact centres, over Asterisk ARI."""


def _mount_commands() -> None:
    for info in sorted(pkgutil.iter_modules(engine.cli.__path__), key=lambda i: i.name):
        if info.name in ("main", "common"):
            continue
        module = importlib.import_module(f"engine.cli.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)


_mount_commands()


def main() -> None:
    """Run the CLI."""
    cli(prog_name="outdial")
