"""Where each organisation stands in a collection, as the coordinators' manuals define it.

While a collection is open (manual 000, «Мониторинг работы образовательных организаций»):
  «Не приступал»  nothing received;
  «В работе»      files received, none accepted (the school fills the form, has not submitted);
                  a draft of the web form or the template's download starts it too (issue 13);
  «Сдано»         an accepted file (the school pressed «Сдать отчет»).
After the window closes every participant falls into one of three groups:
  «Сдано», «Не сдано» (was in work, never accepted), «Не приступало».

Start date = the first file received, draft saved or template downloaded; submission date = the
last accepted file. The warehouse
computes the counts and dates (``OrgStatus``); this module only names them, so that the status
workbook, the terminal table and the group report all say the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from forms.collection import Collection, require_aware
from forms.organisations import Organisation
from forms.outcome import Outcome


class Status(StrEnum):
    """Where an organisation stands. The values tell the open «not started» from the closed one
    (they are told apart by colour); what a reader sees is ``label``, the manual's one word
    for each («Не приступило» for both), as every workbook prints it."""

    NOT_STARTED = "Не приступал"  # open, nothing received
    IN_WORK = "В работе"  # open, files received, none accepted
    SUBMITTED = "Сдано"  # an accepted file, open or closed
    NOT_SUBMITTED = "Не сдано"  # closed, was in work, never accepted
    NEVER_STARTED = "Не приступало"  # closed, nothing ever received

    @property
    def label(self) -> str:
        """The manual's word: «Не приступило», «В работе», «Сдано», «Не сдано»."""
        return COUNT_LABELS[self]


# The order statuses are listed in (summaries, filters, group report legends).
OPEN_STATUSES: tuple[Status, ...] = (Status.NOT_STARTED, Status.IN_WORK, Status.SUBMITTED)
CLOSED_STATUSES: tuple[Status, ...] = (Status.SUBMITTED, Status.NOT_SUBMITTED,
                                       Status.NEVER_STARTED)

# Count labels of the summary («Всего: 104, Не приступило: 0, В работе: 0, Сдано: 104»).
TOTAL_LABEL = "Всего"
COUNT_LABELS: dict[Status, str] = {
    Status.NOT_STARTED: "Не приступило",
    Status.IN_WORK: "В работе",
    Status.SUBMITTED: "Сдано",
    Status.NOT_SUBMITTED: "Не сдано",
    Status.NEVER_STARTED: "Не приступило",
}


def lifecycle(files: int, accepted: int, closed: bool, started: bool = False) -> Status:
    """The status of an organisation that sent ``files`` files, ``accepted`` of them accepted;
    ``started``: it saved a draft or downloaded its template (work begun without a file).

    An accepted file is decisive even if the counts disagree (it cannot be un-submitted)."""
    if accepted > 0:
        return Status.SUBMITTED
    if files > 0 or started:
        return Status.NOT_SUBMITTED if closed else Status.IN_WORK
    return Status.NEVER_STARTED if closed else Status.NOT_STARTED


def is_closed(collection: Collection, now: datetime) -> bool:
    """A collection is closed once its window has ended (before it opens it is not closed:
    every participant is simply «Не приступал»)."""
    return now >= collection.closes


class OrgStatus(NamedTuple):
    """One participant of a collection and where its work stands (issue 4's participant list),
    as the warehouse reports it and the reports read it.

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
    # «Дата начала работы»: the first file, draft or template download, whichever came first.
    started_at: datetime | None = None

    @classmethod
    def of(cls, org: Organisation, *, first_received_at: datetime | None = None,
           last_accepted_at: datetime | None = None, files: int = 0, accepted: int = 0,
           last_errors: int = 0) -> OrgStatus:
        """The status row of a registry organisation (by default: nothing received yet)."""
        # Times are shown in Moscow time; a naive time would be shifted by a guess.
        require_aware(first_received_at, "OrgStatus.first_received_at")
        require_aware(last_accepted_at, "OrgStatus.last_accepted_at")
        return cls(org.login, org.full_name, org.short_name, org.region_code, org.region_name,
                   org.municipality_code, org.municipality_name, org.kind, files, accepted,
                   first_received_at, None, last_accepted_at, None, last_errors, None, first_received_at)


def display_name(row: OrgStatus) -> str:
    """The name a coordinator recognises: the short name, else the full one."""
    return row.short_name or row.full_name


def status_of(row: OrgStatus, closed: bool) -> Status:
    return lifecycle(row.files, row.accepted, closed, row.started_at is not None)


@dataclass(frozen=True)
class Summary:
    """The counts of the manual's «Общая статистика»."""

    closed: bool
    total: int
    counts: tuple[tuple[Status, int], ...]  # in OPEN_STATUSES or CLOSED_STATUSES order

    def count(self, status: Status) -> int:
        return dict(self.counts).get(status, 0)

    @property
    def submitted(self) -> int:
        return self.count(Status.SUBMITTED)

    def lines(self) -> tuple[tuple[str, int], ...]:
        """(label, count) in the order the manual prints them: Всего first; then Не приступило,
        В работе, Сдано while open; Сдано, Не сдано, Не приступило after closing."""
        order = CLOSED_STATUSES if self.closed else OPEN_STATUSES
        return ((TOTAL_LABEL, self.total),) + tuple((COUNT_LABELS[s], self.count(s))
                                                     for s in order)


def summarize(rows: Iterable[OrgStatus], closed: bool) -> Summary:
    return tally(closed, (status_of(row, closed) for row in rows))


def tally(closed: bool, statuses: Iterable[Status]) -> Summary:
    """The summary of statuses already computed (each must belong to the open or the closed
    set, as ``closed`` says)."""
    counts = dict.fromkeys(CLOSED_STATUSES if closed else OPEN_STATUSES, 0)
    for status in statuses:
        counts[status] += 1
    return Summary(closed, sum(counts.values()), tuple(counts.items()))
