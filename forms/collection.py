"""Collections: a form published to a set of participants for a window of time.

A collection is declared in YAML (see ``forms/collections/``). Times are Moscow time, as the
manuals print them; they are kept timezone-aware so that comparisons never guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from forms.ids import id_problem
from forms.loader import _Reader, _yaml
from forms.organisations import ORG_KINDS, Organisation

MOSCOW = ZoneInfo("Europe/Moscow")


def require_aware(value: datetime | None, what: str) -> None:
    """Refuse a naive datetime where one is made: stored or shown, it would be shifted by a
    guess of the server's zone."""
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {value.isoformat()}); "
                         "attach its zone, e.g. datetime.now(UTC)")


class Placed(Protocol):
    """What a participant rule reads of an organisation: an ``Organisation``, or the place of a
    signed-in school as its session read it (``warehouse.accounts.SchoolPlace``)."""

    @property
    def login(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def municipality_code(self) -> str: ...


@dataclass(frozen=True)
class Participants:
    """Who must report: every rule that is set must hold; an explicit login always counts."""

    kinds: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()
    logins: tuple[str, ...] = ()

    def includes(self, org: Placed) -> bool:
        if org.login in self.logins:
            return True
        if self.logins and not (self.kinds or self.regions or self.municipalities):
            return False
        return (
            (not self.kinds or org.kind in self.kinds)
            and (not self.regions or org.region_code in self.regions)
            and (not self.municipalities or org.municipality_code in self.municipalities)
        )

    def select(self, orgs: Iterable[Organisation]) -> list[Organisation]:
        return [o for o in orgs if self.includes(o)]


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    section: str  # "ВПР", "ВПР СПО", …
    form_id: str
    opens: datetime  # aware, Moscow time
    closes: datetime
    participants: Participants
    info: str = ""  # the publication's general information text
    files: tuple[str, ...] = ()  # attached documents (names or links), shown on the title sheet
    period_start: date | None = None  # the assessment period, for forms whose dates need one
    period_end: date | None = None

    def status_at(self, moment: datetime) -> str:
        """«Открыт» inside the window, «Закрыт» outside it, as the manuals label it."""
        return "Открыт" if self.opens <= moment < self.closes else "Закрыт"

    def is_open(self, moment: datetime) -> bool:
        return self.opens <= moment < self.closes


def _moment(r: _Reader, key: str) -> datetime:
    value = r.get(key, (str, datetime), what="a window")
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except ValueError as exc:
        raise r.fail(f"'{key}' must be a date and time like 2026-03-01 09:00, got {value!r}") from exc
    return moment.replace(tzinfo=MOSCOW) if moment.tzinfo is None else moment.astimezone(MOSCOW)


def _day(r: _Reader, key: str) -> date | None:
    value = r.get(key, (str, date), default=None)
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise r.fail(f"'{key}' must be a date like 2026-04-01, got {value!r}") from exc


def read_participants(r: _Reader, what: str) -> tuple[_Reader, Participants]:
    """The ``participants`` mapping of a collection or publication (``what``), its kinds
    checked, and its reader, for the caller's own checks to name the line."""
    p = _Reader(r.path, r.get("participants", dict, what=what))
    p.unknown({"kinds", "regions", "municipalities", "logins"})

    def strings(key: str) -> tuple[str, ...]:
        return tuple(str(v) for v in p.get(key, list, default=[]))

    participants = Participants(strings("kinds"), strings("regions"), strings("municipalities"),
                                strings("logins"))
    bad = [k for k in participants.kinds if k not in ORG_KINDS]
    if bad:
        raise p.fail(f"unknown kind '{bad[0]}' (known: {', '.join(ORG_KINDS)})")
    return p, participants


def load_collection(path: Path | str) -> Collection:
    """Read one collection. Raises ``SpecError`` naming the file and line of the mistake."""
    path = Path(path)
    r = _Reader(str(path), _yaml(path))
    r.unknown({"id", "title", "section", "form", "info", "files", "participants", "window",
               "assessment_period"})
    # First of all: the id names the folder of every template.
    collection_id = r.plain_id("id", "collection")
    form_id = r.plain_id("form", "collection")
    win = _Reader(str(path), r.get("window", dict, what="a collection"))
    win.unknown({"opens", "closes"})
    opens, closes = _moment(win, "opens"), _moment(win, "closes")
    if closes <= opens:
        raise win.fail("the window closes before it opens")
    p, participants = read_participants(r, "a collection")
    for login in participants.logins:  # a login names a template file
        if (problem := id_problem("participant login", login)) is not None:
            raise p.fail_at("logins", problem)
    if participants == Participants():
        raise p.fail("participants: name at least one kind, region, municipality or login")
    start = end = None
    if "assessment_period" in r.data:
        period = _Reader(str(path), r.get("assessment_period", dict))
        start, end = _day(period, "start"), _day(period, "end")
        if start is None or end is None or end < start:
            raise period.fail("assessment_period needs start and end, with end not before start")
    return Collection(
        id=collection_id,
        title=r.get("title", str, what="a collection"),
        section=r.get("section", str, what="a collection"),
        form_id=form_id,
        info=r.get("info", str, default=""),
        files=tuple(str(f) for f in r.get("files", list, default=[])),
        opens=opens,
        closes=closes,
        participants=participants,
        period_start=start,
        period_end=end,
    )
