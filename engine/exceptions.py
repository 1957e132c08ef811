"""
The root of every error the engine raises on purpose.

    EngineError
    ├── ConfigError          settings or input that cannot be used as given
    ├── StorageError         Postgres refused or lost something (engine.db)
    │   └── MigrationError   a migration failed or was changed after applying
    └── AriError             Asterisk said no, or could not be reached (engine.ari)

Each subpackage keeps its own ``exceptions.py`` deriving from these.
Messages are lowercase with no trailing period; ids are kept as attributes.
"""


class EngineError(Exception):
    """Base class of all outdial errors."""


class ConfigError(EngineError):
    """A setting or an input that cannot be used as given."""


class StorageError(EngineError):
    """Postgres refused or lost something."""


class MigrationError(StorageError):
    """A migration failed, or an applied migration was changed."""
