"""``Warehouse``: the one resource the other stages use to store and query.

Every method opens its own connection and transaction, so a ``Warehouse`` can be shared by
threads and each write is all-or-nothing. Writes are bulk: COPY or executemany of plain
tuples and dicts, never ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from forms import Collection, Finding, Form, Organisation, Sheet
from forms.organisations import OrgKind
from forms.status import OrgStatus
from warehouse.analysts import AnalystRole, ensure_role, grant_reads, role_exists
from warehouse.engine import PG_DDL_LOCK, connection, guarded
from warehouse.errors import LoadError, WarehouseError
from warehouse.frames import read_frame
from warehouse.loading import (
    FormTables,
    Statements,
    bulk_insert,
    bulk_upsert,
    dialect_insert,
    find_sha,
    record_in,
    stored_finding,
    submission_row,
)
from warehouse.readonly import Result, run_readonly
from warehouse.rows import CollectionRow, NewSubmission, SubmissionRow
from warehouse.statuses import statuses_in
from warehouse.tables import (
    add_missing_columns,
    add_missing_indexes,
    build_tables,
    current_select,
    define_fixed_tables,
    frame_schema,
    view_name,
)
from warehouse.tallies import hold, rebuild_in
from warehouse.views import ensure_view

# Bound on the values of one IN (…): SQLite allows 32,766 variables, PostgreSQL 65,535.
_IN_CHUNK = 5_000
# Serialises create() across PostgreSQL workers (CREATE … IF NOT EXISTS races otherwise).
_PG_DDL_LOCK = PG_DDL_LOCK


def _chunks(items: Sequence[str], size: int = _IN_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


_ORG_COLUMNS = ("login", "full_name", "short_name", "region_code", "region_name",
                "municipality_code", "municipality_name", "kind", "specialities")

Item = tuple[NewSubmission, Sequence[Finding], Mapping[str, pl.DataFrame] | None]


class Warehouse:
    """The warehouse on ``engine`` (from ``connect(url)``). ``forms`` are the forms whose rows
    it may load; ``create()`` registers more and creates their tables."""

    def __init__(self, engine: Engine, forms: Iterable[Form] = (),
                 analyst: AnalystRole | None = None) -> None:
        self.engine = engine
        # Who sql() runs as on PostgreSQL (warehouse/analysts.py); unused on SQLite.
        self.analyst = analyst
        self.metadata = sa.MetaData()
        self.fixed = define_fixed_tables(self.metadata)
        self._forms: dict[tuple[str, int], FormTables] = {}
        self._statements = Statements.build()
        self.register(forms)

    # -- schema ---------------------------------------------------------------------------

    def register(self, forms: Iterable[Form]) -> None:
        """Declare the typed tables of ``forms`` (no DDL; ``create()`` emits it)."""
        for form in forms:
            key = (form.id, form.version)
            if key not in self._forms:
                self._forms[key] = FormTables(form, build_tables(form, self.metadata))

    def tables(self, form: Form) -> Mapping[str, sa.Table]:
        """The typed tables of a registered form, keyed by ``sheet.table``."""
        self.register([form])
        return self._forms[(form.id, form.version)].tables

    def create(self, forms: Iterable[Form] = ()) -> None:
        """Create the fixed tables, the tables of every registered form and of ``forms``, and
        the analysts' views. Idempotent; one transaction (DDL is transactional on both)."""
        self.register(forms)
        with guarded(self.engine, write=True) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_DDL_LOCK)))
            had_tallies = sa.inspect(conn).has_table(self.fixed.tallies.name)
            self.metadata.create_all(conn)
            added = add_missing_columns(conn)
            add_missing_indexes(conn, self.fixed)
            if not had_tallies or "participants.stage" in added:
                # A workspace from before the tallies: count what it holds once (no-op if new).
                rebuild_in(conn, self.fixed)
            for ft in self._forms.values():
                for sheet in ft.form.sheets:
                    ensure_view(conn, view_name(ft.form, sheet),
                                current_select(ft.tables[sheet.table], self.fixed))
            # New per-form tables, and views recreated with a new definition, have no grants.
            if (conn.dialect.name == "postgresql" and self.analyst is not None
                    and role_exists(conn, self.analyst.name)):
                self._grant_quietly(conn, self.analyst.name)

    def _grant_quietly(self, conn: Connection, role: str) -> None:
        """Grant what is new, in a savepoint: a database user that may not grant (a worker's,
        not the tables' owner) must still be able to ingest. The analysts then get "permission
        denied" for the new view until `sbor warehouse analyst-role` runs as the owner."""
        try:
            with conn.begin_nested():
                grant_reads(conn, role, self._readable())
        except sa.exc.ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
                raise

    def _readable(self) -> list[str]:
        """What analysts may read: every table sbor declares, and the views of current data."""
        views = [view_name(ft.form, sheet) for ft in self._forms.values() for sheet in ft.form.sheets]
        return sorted(self.metadata.tables) + views

    def ensure_analyst_role(self) -> None:
        """Create or repair the analysts' role on PostgreSQL and grant it reading sbor's tables
        and views (``sbor warehouse analyst-role``, ``sbor publish``)."""
        if self.analyst is None:
            raise WarehouseError("no analysts' role is configured for this warehouse")
        ensure_role(self.engine, self.analyst, self._readable())

    # -- registry and collections ---------------------------------------------------------

    def upsert_organisations(self, orgs: Sequence[Organisation]) -> int:
        """Insert or update organisations by login, in one transaction (a login given twice:
        the last one wins). Returns the count given."""
        if not orgs:
            return 0
        o = self.fixed.organisations
        with guarded(self.engine, write=True) as conn:
            hold(conn)
            bulk_upsert(conn, o, "login", _ORG_COLUMNS, [
                (g.login, g.full_name, g.short_name, g.region_code, g.region_name,
                 g.municipality_code, g.municipality_name, g.kind, ";".join(g.specialities))
                for g in orgs
            ])
            # A school may have changed municipality: its count moves with it. The raises wait
            # for this transaction (``hold``); a registry is loaded seldom, and in seconds.
            rebuild_in(conn, self.fixed, stages=False)
        self._analyze("organisations")
        return len(orgs)

    def organisations(self, logins: Iterable[str] | None = None) -> list[Organisation]:
        """Organisations by login order; all of them, or those of ``logins`` that are known."""
        o = self.fixed.organisations
        query = sa.select(o).order_by(o.c.login)
        with guarded(self.engine) as conn:
            if logins is None:
                rows = list(conn.execute(query).mappings())
            else:
                wanted = sorted(set(logins))
                rows = [r for part in _chunks(wanted)
                        for r in conn.execute(query.where(o.c.login.in_(part))).mappings()]
        return [
            Organisation(
                login=r["login"], full_name=r["full_name"], short_name=r["short_name"],
                region_code=r["region_code"], region_name=r["region_name"],
                municipality_code=r["municipality_code"],
                municipality_name=r["municipality_name"], kind=cast(OrgKind, r["kind"]),
                specialities=tuple(s for s in r["specialities"].split(";") if s),
            )
            for r in rows
        ]

    def publish(self, collection: Collection, form: Form, logins: Sequence[str]) -> None:
        """Register ``collection`` (insert or update) and replace its participants with
        ``logins``, in one transaction. Every login must be in the registry already."""
        if form.id != collection.form_id:
            raise WarehouseError(
                f"collection {collection.id} uses form {collection.form_id}, not {form.id}"
            )
        c, p = self.fixed.collections, self.fixed.participants
        values = {
            "id": collection.id, "title": collection.title, "section": collection.section,
            "form_id": form.id, "form_version": form.version, "opens": collection.opens,
            "closes": collection.closes, "period_start": collection.period_start,
            "period_end": collection.period_end, "info": collection.info,
            "files": "\n".join(collection.files), "published_at": datetime.now(UTC),
        }
        try:
            with guarded(self.engine, write=True) as conn:
                hold(conn)
                stmt = dialect_insert(conn.dialect.name, c).values(values)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["id"],
                    set_={k: stmt.excluded[k] for k in values if k != "id"},
                ))
                # Only the difference: publishing again (the usual case) writes next to nothing.
                wanted = set(logins)
                present = set(conn.execute(
                    sa.select(p.c.login).where(p.c.collection_id == collection.id)).scalars())
                for part in _chunks(sorted(present - wanted)):
                    conn.execute(p.delete().where(p.c.collection_id == collection.id,
                                                  p.c.login.in_(part)))
                bulk_insert(conn, p, ("collection_id", "login"),
                            [(collection.id, login) for login in sorted(wanted - present)])
                # A new participant may have sent files before it was one: its stage is counted.
                rebuild_in(conn, self.fixed, [collection.id])
        except sa.exc.IntegrityError as exc:
            known = {g.login for g in self.organisations(logins)}
            missing = sorted(set(logins) - known)
            if not missing:
                raise
            shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
            raise WarehouseError(
                f"collection {collection.id}: {len(missing)} participant(s) are not in the "
                f"registry ({shown}); load the registry first (upsert_organisations)"
            ) from exc
        self._analyze("participants")

    def _analyze(self, table: str) -> None:
        """Refresh PostgreSQL's statistics after a bulk load. Autovacuum would, in a minute;
        until then the planner believes a 40,000-row participants table holds 29 rows and
        joins it by nested loop (28 s for a status query instead of 0.3 s)."""
        if self.engine.dialect.name == "postgresql":
            with guarded(self.engine) as conn:
                conn.exec_driver_sql(f"ANALYZE {conn.dialect.identifier_preparer.quote(table)}")

    def collections(self) -> list[CollectionRow]:
        c = self.fixed.collections
        with guarded(self.engine) as conn:
            rows = list(conn.execute(sa.select(c).order_by(c.c.opens, c.c.id)).mappings())
        return [_collection_row(r) for r in rows]

    def collection(self, collection_id: str) -> CollectionRow | None:
        c = self.fixed.collections
        with guarded(self.engine) as conn:
            row = conn.execute(sa.select(c).where(c.c.id == collection_id)).mappings().first()
        return _collection_row(row) if row is not None else None

    def participants(self, collection_id: str) -> frozenset[str]:
        p = self.fixed.participants
        with guarded(self.engine) as conn:
            logins = conn.execute(
                sa.select(p.c.login).where(p.c.collection_id == collection_id)
            ).scalars()
            return frozenset(logins)

    # -- submissions ----------------------------------------------------------------------

    def find_sha(self, sha256: str) -> SubmissionRow | None:
        """The submission already recorded for this file content, if any."""
        with guarded(self.engine) as conn:
            return find_sha(conn, self.fixed, sha256)

    def record(self, sub: NewSubmission, findings: Sequence[Finding] = (),
               rows: Mapping[str, pl.DataFrame] | None = None) -> SubmissionRow:
        """Record a received file in ONE transaction: the submission, its findings, and when
        it is accepted its rows (``rows[sheet.table]``, columns as ``frame_schema(sheet)``),
        and make it the school's current submission if it is the newest accepted one.

        A file whose SHA-256 is already recorded writes nothing: the earlier submission is
        returned. Any failure writes nothing and raises ``LoadError`` (or
        ``DatabaseUnavailable`` when the database is down: retry later)."""
        with connection(self.engine, write=True) as conn:
            result = self._record_one(conn, (sub, findings, rows))
            if isinstance(result, LoadError):
                conn.rollback()
                raise result
            conn.commit()
            return result

    def record_many(self, items: Iterable[Item], *,
                    commit_every: int = 50) -> list[SubmissionRow | LoadError]:
        """``record()`` for a batch, in order, over one connection. Returns, per item, its row
        or the ``LoadError`` that kept it out: one bad file must not block the files after it.
        Everything returned is committed; each item is all-or-nothing. Re-running a batch is
        safe: recorded files come back as their earlier rows.

        Items are committed ``commit_every`` at a time, because a commit is the dearest step
        (an fsync on PostgreSQL: 1.2 ms here, more than the rest of an item). A failing item
        rolls its group back, and the group is redone one transaction per item, so the
        failure stays with its own item; failures are bugs or hostile data, so rare that the
        common path carries no savepoints (which cost about a third of an item)."""
        results: list[SubmissionRow | LoadError] = []
        pending = list(items)
        size = max(1, commit_every)
        with connection(self.engine, write=True) as conn:
            for start in range(0, len(pending), size):
                group = pending[start:start + size]
                try:
                    with conn.begin():
                        done = [self._record_or_raise(conn, item) for item in group]
                except (sa.exc.IntegrityError, sa.exc.DataError, WarehouseError):
                    done = []
                    for item in group:
                        with conn.begin() as tx:
                            result = self._record_one(conn, item)
                            if isinstance(result, LoadError):
                                tx.rollback()
                        done.append(result)
                results.extend(done)
        return results

    def _record_or_raise(self, conn: Connection, item: Item) -> SubmissionRow:
        sub, findings, rows = item
        return record_in(conn, self.fixed, self._statements, self._forms, sub, findings,
                         rows)[0]

    def _record_one(self, conn: Connection, item: Item) -> SubmissionRow | LoadError:
        """One item in the current transaction; a failure is returned, not raised, and leaves
        the transaction for the caller to roll back."""
        sub = item[0]
        try:
            return self._record_or_raise(conn, item)
        except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
            # A row the database refuses (a duplicate row number, a number out of range).
            reason = str(exc.orig).strip().splitlines()[0]
            return LoadError(sub.sha256, sub.file_name, reason)
        except WarehouseError as exc:
            return LoadError(sub.sha256, sub.file_name, str(exc))

    def current(self, collection_id: str, login: str) -> SubmissionRow | None:
        """The school's current accepted submission."""
        s, cur = self.fixed.submissions, self.fixed.current_submissions
        query = (sa.select(s).join(cur, cur.c.submission_id == s.c.id)
                 .where(cur.c.collection_id == collection_id, cur.c.login == login))
        with guarded(self.engine) as conn:
            row = conn.execute(query).mappings().first()
        return submission_row(row) if row is not None else None

    def history(self, collection_id: str, login: str) -> list[SubmissionRow]:
        """Every file the school sent for the collection, oldest first."""
        s = self.fixed.submissions
        query = (sa.select(s).where(s.c.collection_id == collection_id, s.c.login == login)
                 .order_by(s.c.received_at, s.c.id))
        with guarded(self.engine) as conn:
            return [submission_row(r) for r in conn.execute(query).mappings()]

    def findings(self, submission_id: int) -> list[Finding]:
        """The findings of a submission, in the order they were recorded."""
        f, s = self.fixed.findings, self.fixed.submissions
        query = (sa.select(f, s.c.file_name).join(s, s.c.id == f.c.submission_id)
                 .where(f.c.submission_id == submission_id).order_by(f.c.id))
        with guarded(self.engine) as conn:
            return [stored_finding(r, r["file_name"]) for r in conn.execute(query).mappings()]

    # -- coordinators and analysts --------------------------------------------------------

    def statuses(self, collection_id: str, *, region: str | None = None,
                 municipality: str | None = None) -> list[OrgStatus]:
        """Every participant (of the region / municipality) with its files and dates, ordered
        by region, municipality and login. ``forms.status.status_of`` labels them."""
        with guarded(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                # The sort of 40,000 wide rows spills to disk at the default 4 MB.
                conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            return statuses_in(conn, self.fixed, collection_id, region=region,
                               municipality=municipality)

    def current_rows(self, form: Form, sheet: Sheet, collection_id: str, *,
                     logins: Iterable[str] | None = None, region: str | None = None,
                     municipality: str | None = None) -> pl.DataFrame:
        """The current accepted rows of one sheet: collection_id, login, submission_id,
        received_at, row_number and the typed fields; ordered by login and row."""
        data = self.tables(form)[sheet.table]
        o, cur = self.fixed.organisations, self.fixed.current_submissions
        query = current_select(data, self.fixed).where(cur.c.collection_id == collection_id)
        if region is not None or municipality is not None:
            query = query.join(o, o.c.login == cur.c.login)
            if region is not None:
                query = query.where(o.c.region_code == region)
            if municipality is not None:
                query = query.where(o.c.municipality_code == municipality)
        # No ORDER BY: SQLite's sorter took most of the time; polars sorts at the end.
        schema: dict[str, Any] = {
            "collection_id": pl.String(), "login": pl.String(), "submission_id": pl.Int64(),
            "received_at": pl.Datetime("us", "UTC"), **frame_schema(sheet),
        }
        names = list(query.selected_columns.keys())
        typed = {n: schema[n] for n in names}
        with guarded(self.engine) as conn:
            if logins is None:
                frame = read_frame(conn, query, typed)
            else:
                frames = [read_frame(conn, query.where(cur.c.login.in_(part)), typed)
                          for part in _chunks(sorted(set(logins)))]
                frame = pl.concat(frames) if frames else pl.DataFrame(schema=typed)
        return frame.sort("login", "row_number")

    def sql(self, query: str, max_rows: int | None = None) -> Result:
        """Column names and rows of one read-only statement (``sbor sql``); a statement that
        writes is refused with ``ReadOnlyViolation``."""
        return run_readonly(self.engine, query, max_rows, self.analyst)


def _collection_row(r: Mapping[str, Any]) -> CollectionRow:
    return CollectionRow(
        id=r["id"], title=r["title"], section=r["section"], form_id=r["form_id"],
        form_version=r["form_version"], opens=r["opens"], closes=r["closes"],
        period_start=r["period_start"], period_end=r["period_end"], info=r["info"],
        files=tuple(f for f in r["files"].split("\n") if f), published_at=r["published_at"],
    )
