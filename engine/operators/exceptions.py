"""
Errors of the operators package.

    EngineError
    └── OperatorError                 anything about operators, sessions, calls
        ├── AuthenticationError       wrong operator id or password
        │   ├── AccountLockedError    too many failures, or locked by an admin
        │   └── PasswordExpiredError  the password must be changed first
        ├── PasswordPolicyError       a new password that is not acceptable
        ├── OperatorNotFoundError     no such operator id
        ├── OperatorExistsError       that operator id is taken
        ├── PermissionDeniedError     the actor may not see or do this
        ├── SessionStateError         the session cannot do that in its state
        ├── SoftphoneError            the softphone could not be reached
        ├── DispositionError          a disposition that cannot be stored
        ├── SupervisionError          a listen-in/whisper/barge that failed
        └── SurveyConfigError         a campaign's survey settings are malformed

Messages are lowercase with no trailing period; ids are kept as attributes.
"""

from engine.exceptions import EngineError


class OperatorError(EngineError):
    """Base class of the operators package's errors."""


class AuthenticationError(OperatorError):
    """The operator id and password do not match an active account."""

    def __init__(self, message: str = "wrong operator id or password") -> None:
        super().__init__(message)


class AccountLockedError(AuthenticationError):
    """The account is locked and an admin must unlock it."""

    def __init__(self, operator_id: str) -> None:
        super().__init__(f"account {operator_id} is locked; ask an admin to unlock it")
        self.operator_id = operator_id


class PasswordExpiredError(AuthenticationError):
    """The password is right but must be changed before anything else."""

    def __init__(self, operator_id: str) -> None:
        super().__init__(f"password of {operator_id} has expired and must be changed")
        self.operator_id = operator_id


class PasswordPolicyError(OperatorError):
    """A new password that breaks the password rules."""


class OperatorNotFoundError(OperatorError):
    """No operator has that id."""

    def __init__(self, operator_id: str) -> None:
        super().__init__(f"no operator {operator_id!r}")
        self.operator_id = operator_id


class OperatorExistsError(OperatorError):
    """An operator with that id (or softphone endpoint) already exists."""


class PermissionDeniedError(OperatorError):
    """The acting operator may not see or change this."""

    def __init__(self, actor: str, what: str) -> None:
        super().__init__(f"operator {actor} may not {what}")
        self.actor = actor
        self.what = what


class SessionStateError(OperatorError):
    """The operator's session cannot do that in its current state."""


class SoftphoneError(OperatorError):
    """The operator's softphone could not be called or dropped."""


class DispositionError(OperatorError):
    """A disposition that is malformed or not allowed."""


class SupervisionError(OperatorError):
    """A supervision session could not be started or ended."""


class SurveyConfigError(OperatorError):
    """A campaign's ``survey`` settings that cannot be used."""
