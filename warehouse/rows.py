"""What goes into the warehouse and what comes out of it, as frozen plain data.

Every datetime here is timezone-aware; the warehouse stores UTC and returns UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, NamedTuple

from forms.collection import Collection, Participants

Outcome = Literal["accepted", "accepted_with_warnings", "rejected", "unreadable", "duplicate"]
# "duplicate" is reported to the school but never stored: a file whose SHA-256 is known is not a
# new submission, the earlier one answers for it.
STORED_OUTCOMES: tuple[Outcome, ...] = ("accepted", "accepted_with_warnings", "rejected",
                                        "unreadable")
ACCEPTED: tuple[Outcome, ...] = ("accepted", "accepted_with_warnings")


@dataclass(frozen=True)
class NewSubmission:
    """A received file and its outcome, ready to be recorded.

    ``collection_id``, ``login``, ``form_id`` and ``form_version`` come from the file's verified
    identity; they are None for a file whose identity could not be read.
    """

    sha256: str
    file_name: str
    received_at: datetime  # aware: when the file arrived (the start of a school's work)
    outcome: Outcome
    collection_id: str | None = None
    login: str | None = None
    form_id: str | None = None
    form_version: int | None = None
    archive_path: str | None = None  # where the archived copy lies, relative to the runtime folder
    processed_at: datetime | None = None  # aware; None: the moment it is recorded
    saved_by: str | None = None  # the program that saved the file («LibreOffice 7.4.7.2»)

    def __post_init__(self) -> None:
        # A naive time would be stored shifted by a guess; refuse it where it is made.
        for name in ("received_at", "processed_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(
                    f"NewSubmission.{name} is a naive datetime ({value.isoformat()}); "
                    "give it a time zone, e.g. datetime.now(UTC)"
                )


@dataclass(frozen=True)
class SubmissionRow:
    """A recorded submission: one received file, as the warehouse keeps it."""

    id: int
    sha256: str
    file_name: str
    received_at: datetime
    outcome: Outcome
    collection_id: str | None
    login: str | None
    form_id: str | None
    form_version: int | None
    archive_path: str | None
    error_count: int
    warning_count: int
    processed_at: datetime
    saved_by: str | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome in ACCEPTED


@dataclass(frozen=True)
class CollectionRow:
    """A published collection, as stored (its participants are in ``participants()``)."""

    id: str
    title: str
    section: str
    form_id: str
    form_version: int
    opens: datetime
    closes: datetime
    period_start: date | None
    period_end: date | None
    info: str
    files: tuple[str, ...]
    published_at: datetime

    def is_open(self, moment: datetime) -> bool:
        return self.opens <= moment < self.closes

    def collection(self, participants: Participants) -> Collection:
        """The plain Collection the validators and templates take, with its participants."""
        return Collection(
            id=self.id, title=self.title, section=self.section, form_id=self.form_id,
            opens=self.opens, closes=self.closes, participants=participants,
            info=self.info, files=self.files, period_start=self.period_start, period_end=self.period_end,
        )


class OrgStatusRow(NamedTuple):
    """One participant of a collection and where its work stands (issue 4's participant list).

    A NamedTuple rather than a frozen dataclass: a federal collection has 40,000 of them per
    query, and a frozen dataclass costs ten times more to build (0.25 s against 0.02 s)."""

    login: str
    full_name: str
    short_name: str
    region_code: str
    region_name: str
    municipality_code: str
    municipality_name: str
    kind: str
    files: int  # every file received from it for this collection
    accepted: int  # of which accepted
    first_received_at: datetime | None  # «Дата начала работы»: the first file received
    last_received_at: datetime | None
    last_accepted_at: datetime | None  # «Дата подачи»: the last accepted file
    last_outcome: Outcome | None  # of the last file received
    last_errors: int | None  # errors in the last file received
    last_warnings: int | None
