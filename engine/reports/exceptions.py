"""
Errors of the reports package.

    EngineError
    └── ReportError                 a report, export or review cannot be made
        ├── UnknownCampaignError    no campaign by that name or number
        ├── AccessDeniedError       the actor's role does not allow it
        ├── ExportError             an export file cannot be written
        ├── DecryptionError         an encrypted file cannot be opened
        └── RecordingNotFoundError  no such recording, or its file is gone
"""

from engine.exceptions import EngineError


class ReportError(EngineError):
    """A report, export or review cannot be made."""


class UnknownCampaignError(ReportError):
    """No campaign has this name or number."""

    def __init__(self, campaign: str) -> None:
        super().__init__(f"unknown campaign: {campaign}")
        self.campaign = campaign


class AccessDeniedError(ReportError):
    """The actor's role does not allow what was asked."""

    def __init__(self, actor: str, what: str) -> None:
        super().__init__(f"{actor} may not {what}")
        self.actor = actor
        self.what = what


class ExportError(ReportError):
    """An export file cannot be written as asked."""


class DecryptionError(ReportError):
    """An encrypted file cannot be opened: wrong password or damaged file."""


class RecordingNotFoundError(ReportError):
    """No such recording, or its archived file is gone."""

    def __init__(self, recording: str) -> None:
        super().__init__(f"recording not found: {recording}")
        self.recording = recording
