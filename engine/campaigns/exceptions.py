"""
Errors of campaigns and contact lists.

    EngineError
    └── CampaignError                 anything refused about a campaign
        ├── CampaignNotFoundError     no campaign by that name or id
        ├── CampaignExistsError       the name is taken
        ├── InvalidCampaignError      a setting out of range (also a ConfigError)
        │   └── UnknownKindError      a kind of call not in engine.campaigns.kinds
        ├── IllegalTransitionError    e.g. resuming a campaign that is not paused
        ├── ImportFileError           a contact file that cannot be loaded at all
        └── InvalidPhoneError         one number that is not a phone number
                                      (also a ValueError)
"""

from collections.abc import Iterable

from engine.exceptions import ConfigError, EngineError


class CampaignError(EngineError):
    """Something about a campaign was refused."""


class CampaignNotFoundError(CampaignError):
    """No campaign has the given name or id."""

    def __init__(self, ref: str | int) -> None:
        super().__init__(f"no campaign named {ref!r}")
        self.ref = ref


class CampaignExistsError(CampaignError):
    """A campaign with this name exists already."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a campaign named {name!r} exists already")
        self.name = name


class InvalidCampaignError(CampaignError, ConfigError):
    """A campaign setting that cannot be used as given."""


class UnknownKindError(InvalidCampaignError):
    """A kind of call that is not in the fixed list."""

    def __init__(self, kind: str, known: Iterable[str]) -> None:
        super().__init__(
            f"unknown kind of call {kind!r}; known kinds: {', '.join(known)}"
        )
        self.kind = kind


class IllegalTransitionError(CampaignError):
    """A state change the campaign's current state does not allow."""

    def __init__(self, name: str, action: str, state: str, allowed_from: str) -> None:
        super().__init__(
            f"cannot {action} campaign {name!r}: it is {state}"
            f" ({action} needs a campaign that is {allowed_from})"
        )
        self.name = name
        self.action = action
        self.state = state


class ImportFileError(CampaignError):
    """A contact file that cannot be loaded at all (nothing was loaded)."""


class InvalidPhoneError(CampaignError, ValueError):
    """A value that is not a valid phone number; ``reason`` says why."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(reason)
        self.raw = raw
        self.reason = reason
