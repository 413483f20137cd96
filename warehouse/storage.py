"""The cabinet's file storage, the per-user publication state, and the download report.

Every query that returns files or organisations takes the signed-in ``Account`` and applies its
scope here: a school gets the common files and its own, a coordinator the files of its schools
(listed, but a school's own file is never handed to anyone else), the report only its schools.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from forms import Participants
from warehouse.accounts import Account, area_params, bound_area_clause
from warehouse.cabinet_tables import CabinetTables
from warehouse.engine import guarded, reading
from warehouse.loading import dialect_insert
from warehouse.tables import FixedTables


@dataclass(frozen=True)
class FileEntry:
    """A file as the storage keeps it: its publication, the title shown, its owner (None: a file
    for every participant), the name a download is given, its path under the storage, its size."""

    publication_id: str
    title: str
    owner_login: str | None
    name: str
    path: str
    size: int

    @property
    def common(self) -> bool:
        return self.owner_login is None


@dataclass(frozen=True)
class NewFile(FileEntry):
    sha256: str


@dataclass(frozen=True)
class StoredFile(FileEntry):
    id: int
    # The viewer's own downloads of it (manual: the mark is shown to the one who downloaded).
    last_download: datetime | None = None


@dataclass(frozen=True)
class ReportRow:
    login: str
    name: str
    municipality: str
    title: str  # the file as the report names it
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True)
class ReportPage:
    rows: tuple[ReportRow, ...]
    total: int  # rows in the whole report (all pages)
    schools: int  # schools in the whole report; a page holds a number of schools


def _file(row: Any) -> StoredFile:
    return StoredFile(row["publication_id"], row["title"], row["owner_login"], row["name"], row["path"],
                      row["size"], row["id"], _aware(row.get("last_download")))


def audience_clause(rule: Participants, o: sa.Table) -> sa.ColumnElement[bool]:
    """``Participants.includes`` as SQL over the organisations table."""
    parts: list[sa.ColumnElement[bool]] = []
    if rule.kinds:
        parts.append(o.c.kind.in_(rule.kinds))
    if rule.regions:
        parts.append(o.c.region_code.in_(rule.regions))
    if rule.municipalities:
        parts.append(o.c.municipality_code.in_(rule.municipalities))
    by_rule = sa.and_(*parts) if parts else sa.false() if rule.logins else sa.true()
    return sa.or_(o.c.login.in_(rule.logins), by_rule) if rule.logins else by_rule


class Storage:
    def __init__(self, engine: Engine, tables: CabinetTables, fixed: FixedTables) -> None:
        self.engine, self.t, self.fixed = engine, tables, fixed
        self._built: dict[tuple[Any, ...], sa.Select[Any]] = {}

    def add(self, files: Sequence[NewFile]) -> int:
        """Store ``files``; one with the same publication, title and owner replaces the old."""
        f = self.t.files
        with guarded(self.engine, write=True) as conn:
            for nf in files:
                owner = f.c.owner_login.is_(None) if nf.owner_login is None else f.c.owner_login == nf.owner_login
                conn.execute(sa.delete(f).where(f.c.publication_id == nf.publication_id, f.c.title == nf.title, owner))
            if files:
                conn.execute(sa.insert(f), [{**nf.__dict__, "added_at": datetime.now(UTC)} for nf in files])
        return len(files)

    def _statement(self, key: tuple[Any, ...], build: Callable[[], sa.Select[Any]]) -> sa.Select[Any]:
        """The statement for ``key``, built on first use. The queries a page runs are built once
        per shape (role, publication rules) with the account's values as bound parameters:
        building and keying a new statement cost more than PostgreSQL takes to answer it."""
        statement = self._built.get(key)
        if statement is None:
            statement = self._built[key] = build()  # a race builds the same statement twice: harmless
        return statement

    def visible(self, account: Account, publication_id: str, conn: Connection | None = None) -> list[StoredFile]:
        """The files of a publication ``account`` may download: the common ones, and a school's
        own; each with the account's own last download (manual 000: the mark is shown to the
        one who downloaded). A coordinator's view of its schools' files is ``school_sets``."""
        f, d = self.t.files, self.t.downloads

        def build() -> sa.Select[Any]:
            viewer = sa.bindparam("viewer")
            mine = (sa.select(sa.func.max(d.c.started_at)).where(d.c.file_id == f.c.id, d.c.login == viewer)
                    .scalar_subquery().label("last_download"))
            return (sa.select(f, mine).where(f.c.publication_id == sa.bindparam("publication_id"),
                                             self._own(account.is_coordinator, viewer))
                    .order_by(f.c.owner_login.is_not(None), f.c.title))

        query = self._statement(("visible", account.is_coordinator), build)
        with reading(self.engine, conn) as conn:
            return [_file(r) for r in conn.execute(query, {"viewer": account.login,
                                                           "publication_id": publication_id}).mappings()]

    def _own(self, coordinator: bool, viewer: sa.BindParameter[Any]) -> sa.ColumnElement[bool]:
        """The files a viewer may download as far as owners go: the common ones, and a school's
        own (never a school's file for a coordinator, manual 000, 3.2)."""
        owner = self.t.files.c.owner_login
        return owner.is_(None) if coordinator else sa.or_(owner.is_(None), owner == viewer)

    def school_sets(self, account: Account, publication_id: str,
                    conn: Connection | None = None) -> list[tuple[str, int]]:
        """For a coordinator: each set of per-school files (by title) and how many of its
        schools have one. They are shown, but only the schools themselves download them."""
        if not account.is_coordinator:
            return []
        f, o = self.t.files, self.fixed.organisations
        query = self._statement(("school_sets", account.role), lambda: (
            sa.select(f.c.title, sa.func.count()).join(o, o.c.login == f.c.owner_login)
            .where(f.c.publication_id == sa.bindparam("publication_id"),
                   bound_area_clause(account.role, o.c.region_code, o.c.municipality_code, o.c.login))
            .group_by(f.c.title).order_by(f.c.title)))
        with reading(self.engine, conn) as conn:
            return [(title, int(n)) for title, n in conn.execute(
                query, {"publication_id": publication_id, **area_params(account)})]

    def sees(self, account: Account, rules: Sequence[Participants], conn: Connection | None = None) -> list[bool]:
        """For each rule, whether any organisation in ``account``'s scope is a participant by
        it: a school sees the publications it takes part in, a coordinator those of its
        schools. One query for all of them (a page asks for every publication at once)."""
        if not rules:
            return []
        if account.role == "school" and account.place is not None:
            # The school's row, read with its session on this request: the rules hold or not on
            # it alone (``audience_clause`` is ``includes`` in SQL), with no second query.
            return [rule.includes(account.place) for rule in rules]
        o = self.fixed.organisations

        def build() -> sa.Select[Any]:
            area = bound_area_clause(account.role, o.c.region_code, o.c.municipality_code, o.c.login)
            # A first row in the order of ix_organisations_place, not EXISTS: PostgreSQL drops the
            # ORDER BY inside an EXISTS and scans the table from its start, meeting region 77's
            # first school after 24,000 others (13 ms a publication at 40,000; 0.06 ms this way).
            return sa.select(*[sa.select(sa.literal(1)).where(audience_clause(rule, o), area)
                               .order_by(o.c.region_code, o.c.municipality_code).limit(1)
                               .scalar_subquery().is_not(None) for rule in rules])

        query = self._statement(("sees", account.role, tuple(rules)), build)
        with reading(self.engine, conn) as conn:
            return [bool(v) for v in conn.execute(query, area_params(account)).one()]

    def downloadable(self, account: Account, file_id: int, conn: Connection | None = None) -> StoredFile | None:
        """The file if ``account`` may download it as far as owners go: a common file, or its
        own. A coordinator never gets a school's own file (manual 000, 3.2). Whether the
        account sees the file's publication is the caller's second check."""
        f = self.t.files
        query = self._statement(("downloadable", account.is_coordinator), lambda: sa.select(f).where(
            f.c.id == sa.bindparam("file_id"), self._own(account.is_coordinator, sa.bindparam("viewer"))))
        with reading(self.engine, conn) as conn:
            row = conn.execute(query, {"file_id": file_id, "viewer": account.login}).mappings().first()
        return _file(row) if row else None

    def record_download(self, file_id: int, login: str, started_at: datetime, sent: int, finished: bool) -> None:
        """One download, recorded when it ends (whole, cut short or refused midway): one
        statement, so a 50 MB stream costs the database one short write rather than a row made
        at the start and updated at the end. On PostgreSQL the commit does not wait for the
        disk: a crash of the database server in that instant may lose the record, never
        corrupt anything, and every download does not queue behind a flush of the log."""
        with guarded(self.engine, write=True) as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            conn.execute(sa.insert(self.t.downloads).values(
                file_id=file_id, login=login, started_at=started_at, bytes=sent, finished=finished))

    # -- per-user state --------------------------------------------------------------------

    def prefs(self, login: str, conn: Connection | None = None) -> dict[str, tuple[bool, bool]]:
        """publication id → (favourite, expanded) for ``login``."""
        p = self.t.prefs
        query = self._statement(("prefs",), lambda: sa.select(p).where(p.c.login == sa.bindparam("login")))
        with reading(self.engine, conn) as conn:
            return {r.publication_id: (bool(r.favourite), bool(r.expanded))
                    for r in conn.execute(query, {"login": login})}

    def toggle(self, login: str, publication_id: str, what: str) -> bool:
        """Flip ``favourite`` or ``expanded`` of one publication for ``login``; the new value."""
        p = self.t.prefs
        column = {"favourite": p.c.favourite, "expanded": p.c.expanded}[what]
        with guarded(self.engine, write=True) as conn:
            # The row first (a second click racing the first finds it there), then the flip.
            conn.execute(dialect_insert(conn.dialect.name, p)
                         .values(login=login, publication_id=publication_id, favourite=False, expanded=False)
                         .on_conflict_do_nothing())
            key = (p.c.login == login, p.c.publication_id == publication_id)
            conn.execute(sa.update(p).where(*key).values({what: sa.not_(column)}))
            return bool(conn.execute(sa.select(column).where(*key)).scalar_one())

    # -- the coordinator's report ----------------------------------------------------------

    def download_report(self, account: Account, publication_id: str, rule: Participants,
                        *, file_search: str = "", login_search: str = "", offset: int = 0,
                        limit: int | None = 50, conn: Connection | None = None) -> ReportPage:
        """«Отчёт о скачивании»: for each school in ``account``'s scope (and among its
        participants by ``rule``) and each file title of the publication, the first and last
        download by that school, or none. A page is ``limit`` schools from ``offset``, each with
        every title. One statement gives the page and its total (``_report_statement``); a page
        past the end (or no file) asks for the counts alone."""
        params: dict[str, Any] = {"publication_id": publication_id, "offset": offset, **area_params(account)}
        if limit is not None:
            params["limit"] = limit
        searching = bool(file_search or login_search)
        key = ("report", account.role, rule, limit is not None)
        build = lambda: self._report_statement(account.role, rule, file_search, login_search,  # noqa: E731
                                                limited=limit is not None)
        # A search is built each time (its words are in it); the plain page once per shape.
        query = build() if searching else self._statement(key, build)
        with reading(self.engine, conn) as conn:
            found = conn.execute(query, params).all()
            if found:
                schools, titles = found[0].schools, found[0].titles
            else:  # a page past the end, or no file (matches): the counts alone
                counts = [sa.select(sa.func.count()).select_from(q.subquery()).scalar_subquery() for q in (
                    self._report_schools(account.role, rule, login_search), self._report_titles(file_search))]
                schools, titles = conn.execute(sa.select(*counts), params).one()
        rows = tuple(ReportRow(r.login, r.short_name, r.municipality_name, r.title, _aware(r.first), _aware(r.last))
                     for r in found)
        return ReportPage(rows, schools * titles, schools)

    def _report_schools(self, role: str, rule: Participants, login_search: str) -> sa.Select[Any]:
        """The report's schools: in the territory of an account of ``role`` (bound parameters)
        and participants by ``rule``, a login search applied."""
        o = self.fixed.organisations
        schools = sa.select(o.c.login, o.c.short_name, o.c.municipality_name, o.c.region_code,
                            o.c.municipality_code).where(
            bound_area_clause(role, o.c.region_code, o.c.municipality_code, o.c.login), audience_clause(rule, o))
        if login_search:
            schools = schools.where(o.c.login.contains(login_search, autoescape=True))
        return schools

    def _report_titles(self, file_search: str) -> sa.Select[Any]:
        """The publication's file titles (bound parameter ``publication_id``), a search applied."""
        # A publication holds a few titles but, with a folder of one file per school, as many
        # files as schools: a DISTINCT read all 40,000 rows of such a title on every page.
        # Walked instead from title to next title along ix_files_publication, one index probe
        # each (min() over an index prefix is such a probe on PostgreSQL and SQLite; ORDER BY
        # … LIMIT 1 would need parentheses SQLite refuses in a compound select).
        f = self.t.files
        publication = sa.bindparam("publication_id")
        walk = sa.select(sa.func.min(f.c.title).label("title")).where(f.c.publication_id == publication)
        walk = walk.cte("titles_walk", recursive=True)
        later = f.alias("later")
        following = (sa.select(sa.func.min(later.c.title))
                     .where(later.c.publication_id == publication, later.c.title > walk.c.title).scalar_subquery())
        walk = walk.union_all(sa.select(following).where(walk.c.title.is_not(None)))
        titles = sa.select(walk.c.title).where(walk.c.title.is_not(None))
        return titles.where(walk.c.title.contains(file_search, autoescape=True)) if file_search else titles

    def _report_statement(self, role: str, rule: Participants, file_search: str, login_search: str,
                          *, limited: bool) -> sa.Select[Any]:
        """One page of the report in one statement: the page's schools, crossed with the
        publication's titles, the first and last download of the page's schools only (found
        through ``ix_downloads_login``), and the counts of all schools and titles. Four
        statements before, one round trip each, and a Python dictionary joining their rows."""
        f, d = self.t.files, self.t.downloads
        schools = self._report_schools(role, rule, login_search)
        o = schools.selected_columns
        # In the order of ix_organisations_place (by municipality, then login), which gives the
        # page's rows in order and stops at its end: ordered by login alone, PostgreSQL walked
        # the primary key through every other region.
        page = schools.order_by(o.region_code, o.municipality_code, o.login).offset(
            sa.bindparam("offset", type_=sa.Integer))
        if limited:
            page = page.limit(sa.bindparam("limit", type_=sa.Integer))
        page_cte = page.cte("page")
        # Counted apart, from the index alone (it holds the kind the audience asks for); a
        # count(*) OVER () on the page read every school of the region from the table first.
        school_count = sa.select(sa.func.count()).select_from(schools.subquery()).scalar_subquery()
        titles_cte = self._report_titles(file_search).cte("titles")
        times = (sa.select(f.c.title, d.c.login, sa.func.min(d.c.started_at).label("first"),
                           sa.func.max(d.c.started_at).label("last"))
                 .join(f, f.c.id == d.c.file_id)
                 .where(f.c.publication_id == sa.bindparam("publication_id"),
                        d.c.login.in_(sa.select(page_cte.c.login)))
                 .group_by(f.c.title, d.c.login).subquery("times"))
        title_count = sa.select(sa.func.count()).select_from(titles_cte).scalar_subquery()
        return (sa.select(page_cte.c.login, page_cte.c.short_name, page_cte.c.municipality_name,
                          school_count.label("schools"), title_count.label("titles"), titles_cte.c.title,
                          times.c.first, times.c.last)
                .select_from(page_cte.join(titles_cte, sa.true())
                             .outerjoin(times, sa.and_(times.c.login == page_cte.c.login,
                                                       times.c.title == titles_cte.c.title)))
                .order_by(page_cte.c.region_code, page_cte.c.municipality_code, page_cte.c.login,
                          titles_cte.c.title))


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates bypass the column type on SQLite (naive text comes back): make them UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
