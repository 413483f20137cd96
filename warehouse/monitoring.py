"""The coordinators' monitoring screens (manual 000, «Мониторинг работы образовательных
организаций»): counts per territory, the participant list a page at a time, one school's data.

Every query takes the signed-in ``Account`` and applies its territory here (``area_clause``), so
no page can forget the scope. The counts are the status workbook's and ``sbor status``'s, kept
per place as they change (``warehouse.tallies``). The participant list filters and sorts
in SQL; its status column is ``status_case``, ``forms.status.lifecycle`` spelled in SQL (a test
holds the two equal for every case).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from forms.status import CLOSED_STATUSES, OPEN_STATUSES, OrgStatus, Status, Summary, status_of
from warehouse.accounts import Account, area_clause
from warehouse.engine import guarded
from warehouse.rows import ACCEPTED, CollectionRow
from warehouse.statuses import status_query
from warehouse.store import Warehouse
from warehouse.tallies import ACCEPTED_STAGE, NOTHING, WORKING

Sort = Literal["login", "name", "municipality", "status", "started", "submitted"]
SORTS: tuple[Sort, ...] = ("login", "name", "municipality", "status", "started", "submitted")


@dataclass(frozen=True)
class PlaceCounts:
    """One line of the monitoring table: a region (operator), a municipality (regional
    coordinator) or the municipality itself (municipal coordinator)."""

    code: str
    name: str
    summary: Summary


@dataclass(frozen=True)
class Monitoring:
    collection: CollectionRow
    closed: bool
    summary: Summary
    places: tuple[PlaceCounts, ...]
    by: str  # «Регион» or «Муниципалитет»


@dataclass(frozen=True)
class Participant:
    login: str
    name: str
    municipality_code: str
    municipality: str
    status: Status
    started: datetime | None
    submitted: datetime | None


@dataclass(frozen=True)
class ParticipantPage:
    rows: tuple[Participant, ...]
    total: int  # rows matching the filter (all pages)


def status_case(files: sa.ColumnElement[Any], accepted: sa.ColumnElement[Any],
                closed: bool, started_at: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """``forms.status.lifecycle`` as a SQL expression over the status query's columns."""
    return sa.case(
        (accepted > 0, Status.SUBMITTED.value),
        (sa.or_(files > 0, started_at.is_not(None)), (Status.NOT_SUBMITTED if closed else Status.IN_WORK).value),
        else_=(Status.NEVER_STARTED if closed else Status.NOT_STARTED).value,
    )


def statuses_for(closed: bool) -> tuple[Status, ...]:
    return CLOSED_STATUSES if closed else OPEN_STATUSES


def _area(account: Account) -> dict[str, str | None]:
    """The status query's own region/municipality arguments for ``account`` (None: all)."""
    if account.role == "operator":
        return {"region": None, "municipality": None}
    if account.role == "regional":
        return {"region": account.region_code, "municipality": None}
    if account.role == "municipal":
        return {"region": account.region_code, "municipality": account.municipality_code}
    raise PermissionError(f"{account.login} is no coordinator")


def visible_collections(wh: Warehouse, account: Account) -> list[CollectionRow]:
    """The published collections with at least one participant in ``account``'s territory."""
    p, o = wh.fixed.participants, wh.fixed.organisations
    query = (sa.select(p.c.collection_id).join(o, o.c.login == p.c.login)
             .where(area_clause(account, o.c.region_code, o.c.municipality_code, o.c.login))
             .distinct())
    with guarded(wh.engine) as conn:
        ids = set(conn.scalars(query))
    return [c for c in wh.collections() if c.id in ids]


def collection_for(wh: Warehouse, account: Account, collection_id: str) -> CollectionRow | None:
    """The collection if it has a participant in ``account``'s territory (else None): its first
    one in the order of ix_organisations_place, not every participant's collection as
    ``visible_collections`` (13 ms for the operator at 40,000 schools; 1 ms this way)."""
    p, o = wh.fixed.participants, wh.fixed.organisations
    first = (sa.select(p.c.login).join(o, o.c.login == p.c.login)
             .where(p.c.collection_id == collection_id,
                    area_clause(account, o.c.region_code, o.c.municipality_code, o.c.login))
             .order_by(o.c.region_code, o.c.municipality_code).limit(1))
    with guarded(wh.engine) as conn:
        if conn.execute(first).first() is None:
            return None
    return wh.collection(collection_id)


def scoped_statuses(wh: Warehouse, account: Account, collection_id: str) -> list[OrgStatus]:
    """``Warehouse.statuses`` (the rows of ``sbor status`` and the status workbook) cut to
    ``account``'s territory."""
    return wh.statuses(collection_id, **_area(account))


def _summary(closed: bool, counts: dict[Status, int]) -> Summary:
    order = statuses_for(closed)
    return Summary(closed, sum(counts.values()), tuple((st, counts.get(st, 0)) for st in order))


def _standing(wh: Warehouse, account: Account, collection_id: str) -> sa.Subquery:
    """Each participant in ``account``'s territory with its organisation, its files, its
    accepted ones, its first file's and last accepted file's times: the columns of
    ``status_query`` these screens show, without its window over every file of the collection
    (which finds the last file's outcome, shown on no screen here). The files are counted for
    the territory's schools only: a region's page does not aggregate the whole country's.
    ``started_at`` is ``status_query``'s: the first file, first draft or template download."""
    s, p, o, w = wh.fixed.submissions, wh.fixed.participants, wh.fixed.organisations, wh.fixed.work_started
    accepted = s.c.outcome.in_(ACCEPTED)
    first, last = sa.func.min(s.c.received_at), sa.func.max(sa.case((accepted, s.c.received_at)))
    files = (sa.select(s.c.login, sa.func.count().label("files"),
                       sa.func.sum(sa.case((accepted, 1), else_=0)).label("accepted"),
                       first.label("first_received_at"), last.label("last_accepted_at"))
             .where(s.c.collection_id == collection_id, s.c.login.is_not(None)).group_by(s.c.login))
    if account.role != "operator":
        files = files.join(o, o.c.login == s.c.login).where(
            area_clause(account, o.c.region_code, o.c.municipality_code, o.c.login))
    f = files.subquery("f")
    # The earliest sign of work, as status_query says it.
    started_at = (sa.case((w.c.started_at.is_(None), f.c.first_received_at),
                          (f.c.first_received_at.is_(None), w.c.started_at),
                          (w.c.started_at < f.c.first_received_at, w.c.started_at),
                          else_=f.c.first_received_at))
    return (sa.select(o.c.login, o.c.full_name, o.c.short_name, o.c.region_code, o.c.region_name,
                      o.c.municipality_code, o.c.municipality_name,
                      sa.func.coalesce(f.c.files, 0).label("files"),
                      sa.func.coalesce(f.c.accepted, 0).label("accepted"),
                      f.c.first_received_at, f.c.last_accepted_at, started_at.label("started_at"))
            .select_from(p).join(o, o.c.login == p.c.login).outerjoin(f, f.c.login == p.c.login)
            .outerjoin(w, sa.and_(w.c.collection_id == collection_id, w.c.login == p.c.login))
            .where(p.c.collection_id == collection_id,
                   area_clause(account, o.c.region_code, o.c.municipality_code, o.c.login))
            .subquery("st"))


def monitoring(wh: Warehouse, account: Account, collection: CollectionRow, now: datetime) -> Monitoring:
    """«Общая статистика» and its table: per region for the operator, per municipality for a
    coordinator. Read from ``tallies`` (a row per place and stage, kept in the transactions
    that record files and starts: ``warehouse.tallies``), labelled as ``status_case`` labels the
    rows of ``sbor status`` and the status workbook (a test holds them equal). Counting the
    participants themselves joined 40,000 of them with their organisations on every request."""
    area = _area(account)  # a school's account has no monitoring
    closed = now >= collection.closes  # forms.status.is_closed, for the stored row
    per_region = account.role == "operator"
    t, o = wh.fixed.tallies, wh.fixed.organisations
    place = t.c.region_code if per_region else t.c.municipality_code
    counts = (sa.select(t.c.region_code, place.label("code"), t.c.stage, sa.func.sum(t.c.n).label("n"))
              .where(t.c.collection_id == collection.id)
              .group_by(t.c.region_code, place, t.c.stage).subquery("counts"))
    # Named after counting: the first row of ix_organisations_place for each of the ~90 places.
    if per_region:
        name = sa.select(o.c.region_name).where(o.c.region_code == counts.c.code)
    else:
        name = sa.select(o.c.municipality_name).where(o.c.region_code == counts.c.region_code,
                                                      o.c.municipality_code == counts.c.code)
    query = sa.select(counts.c.code, name.limit(1).scalar_subquery(), counts.c.stage, counts.c.n)
    if area["region"] is not None:
        query = query.where(counts.c.region_code == area["region"])
    if area["municipality"] is not None:
        query = query.where(counts.c.code == area["municipality"])
    with guarded(wh.engine) as conn:
        rows = conn.execute(query).all()
    labels = {NOTHING: Status.NEVER_STARTED if closed else Status.NOT_STARTED,
              WORKING: Status.NOT_SUBMITTED if closed else Status.IN_WORK, ACCEPTED_STAGE: Status.SUBMITTED}
    groups: dict[tuple[str, str], dict[Status, int]] = {}
    total: dict[Status, int] = {}
    for place_code, place_name, stage, n in rows:
        if not n:  # every school of a place moved away, or up a stage
            continue
        st = labels[stage]
        groups.setdefault((place_code, place_name), {})[st] = int(n)
        total[st] = total.get(st, 0) + int(n)
    places = tuple(PlaceCounts(pc, pn, _summary(closed, counts)) for (pc, pn), counts in sorted(groups.items()))
    return Monitoring(collection, closed, _summary(closed, total), places,
                      "Регион" if per_region else "Муниципалитет")


def municipalities(wh: Warehouse, account: Account, collection_id: str) -> list[tuple[str, str]]:
    """(code, name) of the municipalities with participants in ``account``'s territory."""
    p, o = wh.fixed.participants, wh.fixed.organisations
    query = (sa.select(o.c.municipality_code, o.c.municipality_name).join(p, p.c.login == o.c.login)
             .where(p.c.collection_id == collection_id,
                    area_clause(account, o.c.region_code, o.c.municipality_code, o.c.login))
             .distinct().order_by(o.c.municipality_name))
    with guarded(wh.engine) as conn:
        return [(r[0], r[1]) for r in conn.execute(query)]


def participants(wh: Warehouse, account: Account, collection: CollectionRow, now: datetime, *,
                 status: Status | None = None, municipality: str = "", search: str = "",
                 sort: Sort = "login", descending: bool = False, offset: int = 0,
                 limit: int | None = 50) -> ParticipantPage:
    """«Список участников»: one page, filtered and sorted in SQL, within ``account``'s scope."""
    _area(account)  # a school's account has no participant list
    closed = now >= collection.closes
    c = _standing(wh, account, collection.id).c
    label = status_case(c.files, c.accepted, closed, c.started_at).label("status")
    name = sa.func.coalesce(sa.func.nullif(c.short_name, ""), c.full_name)
    # The filter's total rides on the page's rows (one statement, not a count and a page).
    query = sa.select(c.login, name.label("name"), c.municipality_code, c.municipality_name, label,
                      c.started_at, c.last_accepted_at, sa.func.count().over().label("total"))
    if status is not None:
        query = query.where(label == status.value)
    if municipality:
        query = query.where(c.municipality_code == municipality)
    if search:
        # SQLite's lower() and LIKE fold ASCII only: «школа» must still find «Школа 3», so the
        # usual spellings of the words are tried as typed too (PostgreSQL folds them all).
        needle = search.strip()
        spellings = {needle, needle.lower(), needle.capitalize(), needle.upper()}
        columns = (c.login, c.short_name, c.full_name)
        query = query.where(sa.or_(
            *[sa.func.lower(col).contains(needle.lower(), autoescape=True) for col in columns],
            *[col.contains(s, autoescape=True) for col in columns for s in sorted(spellings)]))
    # Not started first when sorting by status: they are the ones a coordinator calls.
    order_status = sa.case(*[(label == s.value, i) for i, s in enumerate(
        (Status.NOT_STARTED, Status.NEVER_STARTED, Status.IN_WORK, Status.NOT_SUBMITTED, Status.SUBMITTED))])
    key = {"login": c.login, "name": name, "municipality": c.municipality_name, "status": order_status,
           "started": c.started_at, "submitted": c.last_accepted_at}[sort]
    ordered = key.desc() if descending else key.asc()
    query = query.order_by(ordered.nulls_last(), c.login)
    page = query.offset(offset).limit(limit) if limit is not None else query
    with guarded(wh.engine) as conn:
        found = conn.execute(page).all()
        if found:
            total = found[0].total
        else:  # a page past the end: the total alone
            total = conn.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = tuple(Participant(r.login, r.name, r.municipality_code, r.municipality_name, Status(r.status),
                             _aware(r.started_at), _aware(r.last_accepted_at)) for r in found)
    return ParticipantPage(rows, total)


def participant(wh: Warehouse, account: Account, collection_id: str, login: str) -> OrgStatus | None:
    """One participant's status row, if it is in ``account``'s territory (else None)."""
    query = status_query(wh.fixed, collection_id, **_area(account)).order_by(None)
    o = wh.fixed.organisations
    query = query.where(o.c.login == login,
                        area_clause(account, o.c.region_code, o.c.municipality_code, o.c.login))
    with guarded(wh.engine) as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    values = list(row)
    for i in (10, 11, 12, 16):  # the times, as statuses_in reads them
        values[i] = _aware(values[i])
    return OrgStatus(*values)


def label_status(row: OrgStatus, closed: bool) -> Status:
    """The row's label, as every other status screen and workbook gives it."""
    return status_of(row, closed)


def _aware(value: datetime | str | None) -> datetime | None:
    """SQLite gives naive UTC text, PostgreSQL aware times: UTC either way."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


__all__ = ["SORTS", "Monitoring", "Participant", "ParticipantPage", "PlaceCounts", "Sort",
           "collection_for", "monitoring", "municipalities", "participant", "participants",
           "scoped_statuses", "status_case", "statuses_for", "visible_collections"]
