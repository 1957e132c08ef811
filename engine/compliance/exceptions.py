"""
Errors of the compliance rules.

    EngineError
    └── ComplianceError               a compliance rule refused something
        ├── WindowError               a calling window that cannot be used
        │                             (also a ConfigError)
        ├── UnknownKindError          a kind of call with no window
        ├── CallerIdNotApprovedError  a campaign's caller id is not approved
        ├── DncError                  a do-not-call change that was refused
        │   ├── DncImportError        a DNC file that cannot be loaded at all
        │   └── DncExportDeniedError  an actor who may not export the list
        └── CalendarError             a bad institution calendar change
"""

from collections.abc import Iterable

from engine.exceptions import ConfigError, EngineError


class ComplianceError(EngineError):
    """A compliance rule refused something."""


class WindowError(ComplianceError, ConfigError):
    """A calling window that is malformed, overlapping or too wide."""


class UnknownKindError(ComplianceError, ConfigError):
    """A kind of call that has no calling window."""

    def __init__(self, kind: str, known: Iterable[str]) -> None:
        super().__init__(
            f"unknown kind of call {kind!r}; known kinds: {', '.join(known)}"
        )
        self.kind = kind


class CallerIdNotApprovedError(ComplianceError):
    """A campaign uses a caller id the institution has not approved."""

    def __init__(self, caller_id: str) -> None:
        super().__init__(f"caller id {caller_id!r} is not an approved caller id")
        self.caller_id = caller_id


class DncError(ComplianceError):
    """A change to the do-not-call list that was refused."""


class DncImportError(DncError):
    """A do-not-call file that cannot be loaded at all (nothing was loaded)."""


class DncExportDeniedError(DncError):
    """An actor whose account may not export the do-not-call list."""

    def __init__(self, actor: str, why: str) -> None:
        super().__init__(f"{actor!r} may not export the do-not-call list: {why}")
        self.actor = actor
        self.why = why


class CalendarError(ComplianceError):
    """A change to the institution's calendar that was refused."""
