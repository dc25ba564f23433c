"""Errors that core raises. Each class docstring is its default message.

`api/errors.py` maps these to HTTP status codes; core knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class QueuarrError(Exception):
    """Something went wrong in Queuarr."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class NotFound(QueuarrError):
    """NotFound"""


class BadRequest(QueuarrError):
    """The request is not valid."""


class InvalidId(BadRequest):
    """The id is not valid."""

    def __init__(self, item_id: int) -> None:
        self.content = f"{item_id} is not a valid ID"
        super().__init__(f"BadRequest: {self.content}")


class ValidationFailure(NamedTuple):
    """One property that failed validation, as Radarr reports it: the property in Radarr's
    PascalCase/dotted form ("Title", "Fields[2].Value"), why, and the value sent."""

    property: str
    message: str
    attempted: object = None
    code: str | None = None

    @classmethod
    def not_empty(cls, prop: str, attempted: object, label: str | None = None
                  ) -> ValidationFailure:
        """FluentValidation's NotEmpty, in its words ('Label' is the property's name
        unless Radarr gives it another)."""
        return cls(prop, f"'{label or prop}' must not be empty.", attempted,
                   "NotEmptyValidator")

    @classmethod
    def too_long(cls, prop: str, attempted: str, limit: int) -> ValidationFailure:
        """FluentValidation's MaximumLength, in its words."""
        return cls(prop, f"The length of '{prop}' must be {limit} characters or fewer. "
                   f"You entered {len(attempted)} characters.", attempted,
                   "MaximumLengthValidator")


class ValidationFailed(BadRequest):
    """The request is not valid."""

    def __init__(self, failures: Sequence[ValidationFailure]) -> None:
        self.failures = tuple(failures)
        super().__init__("; ".join(f"{f.property}: {f.message}" if f.property else f.message
                                   for f in self.failures) or None)


class PayloadTooLarge(BadRequest):
    """The request body is too large."""


class UnsupportedMediaType(BadRequest):
    """The request body has a content type that is not accepted."""


class InvalidRelease(BadRequest):
    """The release is not valid."""


class OverBudget(BadRequest):
    """The request needs more work than one request may take."""


class ReleaseTooLarge(QueuarrError):
    """The release is larger than the configured size limit."""


class NoApprovedRelease(QueuarrError):
    """None of the releases is approved"""


class Blocklisted(QueuarrError):
    """The release is blocklisted."""


class Duplicate(QueuarrError):
    """The release is already in the queue."""

    def __init__(self, message: str, existing_id: int) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class AlreadyCompleted(Duplicate):
    """The release was already downloaded; pass force=true to grab it again."""

    @classmethod
    def of(cls, title: str, existing_id: int) -> AlreadyCompleted:
        return cls(
            f"Release {title!r} was already downloaded as item {existing_id}; "
            "pass force=true to grab it again",
            existing_id,
        )


class IllegalTransition(QueuarrError):
    """The item cannot move to that state from its current one."""


class ConcurrentModification(QueuarrError):
    """The item changed while it was being updated; try again."""


class StorageUnavailable(QueuarrError):
    """The database is unreachable."""


class DownloadClientError(QueuarrError):
    """The download client failed."""


class ClientUnavailable(DownloadClientError):
    """The download client is unreachable or refused the login."""


class ClientRejected(DownloadClientError):
    """The download client rejected the release as invalid."""


class TransientClientError(DownloadClientError):
    """The download client failed in a way that may pass."""


class SourceRefused(ClientRejected):
    """The release's source may not be fetched, or does not exist."""


class SourceUnavailable(TransientClientError):
    """The release's source could not be fetched; it may be reachable later."""


class UnknownDownloadClient(QueuarrError):
    """The item's download client no longer exists."""


class NoProcessor(QueuarrError):
    """This process runs no processor (`queuarr serve --no-processor`); ask the one that
    does."""


class InUse(IllegalTransition):
    """It is still in use and cannot be deleted."""
