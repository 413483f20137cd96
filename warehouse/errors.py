"""The warehouse's exceptions: named for the failure, with their context as plain attributes.

``DatabaseUnavailable`` is transient (a database that is down or busy): a flow may retry it.
Every other ``WarehouseError`` is terminal: retrying will not help.
"""

from __future__ import annotations

from forms.errors import SborError


class WarehouseError(SborError):
    """Base of every error the warehouse raises on purpose."""


class DatabaseUnavailable(WarehouseError):
    """The database cannot be reached or opened right now (transient)."""

    def __init__(self, url: str, reason: str, advice: str) -> None:
        self.url = url  # with the password hidden
        self.reason = reason
        self.advice = advice
        super().__init__(f"cannot reach the warehouse at {url}: {reason}. {advice}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        # Raised in an ingest worker process and re-raised in its parent: pickled by its fields.
        return (type(self), (self.url, self.reason, self.advice))


class LoadError(WarehouseError):
    """A submission could not be recorded; nothing of it was written."""

    def __init__(self, sha256: str, file_name: str, reason: str) -> None:
        self.sha256 = sha256
        self.file_name = file_name
        self.reason = reason
        super().__init__(
            f"submission {file_name} (sha256 {sha256[:12]}…) was not recorded: {reason}"
        )

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        return (type(self), (self.sha256, self.file_name, self.reason))


class ReadOnlyViolation(WarehouseError):
    """``sql()`` was given a statement that writes, or more than one statement."""

    def __init__(self, query: str, reason: str) -> None:
        self.query = query
        self.reason = reason
        super().__init__(
            f"the query was refused: {reason}. Only single SELECT statements run here."
        )
