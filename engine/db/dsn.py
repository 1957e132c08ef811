"""
Where the database is: the configured URL, or the embedded fallback.
"""

from engine.db.embedded import embedded_dsn
from engine.settings import Settings


def resolve_dsn(settings: Settings) -> str:
    """The DSN to connect to, starting the embedded server when none is set."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()

    return embedded_dsn(settings.data_dir)
