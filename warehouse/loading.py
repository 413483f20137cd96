"""Recording one submission: the file, its findings and, when accepted, its rows, in the
caller's transaction. Bulk inserts of plain tuples (COPY or executemany), never ORM objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from forms import Finding, Form
from forms.findings import as_told
from warehouse.errors import WarehouseError
from warehouse.rows import ACCEPTED, STORED_OUTCOMES, NewSubmission, SubmissionRow
from warehouse.tables import FixedTables, UtcDateTime, frame_schema
from warehouse.tallies import ACCEPTED_STAGE, WORKING, raise_stage_in


@dataclass(frozen=True)
class FormTables:
    """A registered form and its typed tables, keyed by ``sheet.table``."""

    form: Form
    tables: Mapping[str, sa.Table]


def dialect_insert(dialect: str, table: sa.Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


def bulk_insert(conn: Connection, table: sa.Table, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """Insert plain tuples in the transaction of ``conn``, the fastest way each database has:
    COPY on PostgreSQL (two round trips whatever the count, and the least work per row on
    both sides), the driver's executemany on SQLite. SQLAlchemy's per-row parameter processing is skipped: it
    cost more than the database itself (about 25 µs a row). Values must already be what the
    driver takes: on SQLite, dates as ISO text."""
    if not rows:
        return
    prep = conn.dialect.identifier_preparer
    names = ", ".join(prep.quote(c) for c in columns)
    target = prep.format_table(table)
    if conn.dialect.name == "postgresql":
        statement = f"COPY {target} ({names}) FROM STDIN"
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as exc:
            # The raw cursor bypasses SQLAlchemy: give the error SQLAlchemy's class
            # (IntegrityError, DataError, OperationalError…) like every other statement's.
            raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
        finally:
            cursor.close()
        return
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {target} ({names}) VALUES ({marks})", list(rows))


def bulk_upsert(conn: Connection, table: sa.Table, key: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """Insert or update plain tuples by ``key`` (one row per key: the last one wins). On
    PostgreSQL through a staging table filled by COPY and one INSERT … SELECT, where an
    executemany of upserts ran a statement per row (40,000 organisations: several seconds);
    on SQLite an executemany of one upsert."""
    position = list(columns).index(key)
    unique = list({row[position]: row for row in rows}.values())
    if not unique:
        return
    prep = conn.dialect.identifier_preparer
    target = prep.format_table(table)
    names = ", ".join(prep.quote(c) for c in columns)
    updates = ", ".join(f"{prep.quote(c)} = excluded.{prep.quote(c)}"
                        for c in columns if c != key)
    conflict = f"ON CONFLICT ({prep.quote(key)}) DO UPDATE SET {updates}"
    if conn.dialect.name == "postgresql":
        stage = sa.Table(f"sbor_stage_{table.name}", sa.MetaData())
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {prep.format_table(stage)} (LIKE {target}) ON COMMIT DROP")
        bulk_insert(conn, stage, columns, unique)
        conn.exec_driver_sql(
            f"INSERT INTO {target} ({names}) SELECT {names} FROM {prep.format_table(stage)} "
            f"{conflict}")
        return
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {target} ({names}) VALUES ({marks}) {conflict}", unique)


_SUBMISSION_COLUMNS = ("sha256", "file_name", "received_at", "collection_id", "login", "form_id",
                       "form_version", "outcome", "archive_path", "error_count",
                       "warning_count", "processed_at", "saved_by")


@dataclass(frozen=True)
class Statements:
    """The two statements of the hot path, as text both databases read alike. Text, because
    SQLAlchemy 2.0 does not cache a compiled ON CONFLICT statement: built as Core it was
    compiled again for every submission, which cost more than running it."""

    insert_submission: sa.TextClause
    make_current: sa.TextClause

    @classmethod
    def build(cls) -> Statements:
        times = (sa.bindparam("received_at", type_=UtcDateTime()),
                 sa.bindparam("processed_at", type_=UtcDateTime()))
        # ON CONFLICT DO NOTHING, not a prior SELECT: two workers meeting the same file at
        # once must not both record it, and on PostgreSQL a failed INSERT aborts the
        # transaction.
        insert_submission = sa.text(
            f"INSERT INTO submissions ({', '.join(_SUBMISSION_COLUMNS)}) "
            f"VALUES ({', '.join(':' + c for c in _SUBMISSION_COLUMNS)}) "
            "ON CONFLICT (sha256) DO NOTHING RETURNING id"
        ).bindparams(*times)
        # The school's current submission becomes the new one unless the current one is newer
        # (by received_at, then id): files may be processed out of the order they arrived.
        # One statement, deciding on the conflicting row itself, so that two workers racing
        # on the same school cannot both win (see current_submissions.received_at).
        make_current = sa.text(
            "INSERT INTO current_submissions (collection_id, login, submission_id, received_at) "
            "VALUES (:collection_id, :login, :submission_id, :received_at) "
            "ON CONFLICT (collection_id, login) DO UPDATE "
            "SET submission_id = excluded.submission_id, received_at = excluded.received_at "
            "WHERE excluded.received_at > current_submissions.received_at "
            "OR (excluded.received_at = current_submissions.received_at "
            "AND excluded.submission_id > current_submissions.submission_id)"
        ).bindparams(times[0])
        return cls(insert_submission, make_current)


_FINDING_COLUMNS = ("submission_id", "severity", "code", "worksheet", "cell", "field", "value",
                    "message", "wording", "params")


# A finding's parameters as JSON: Russian kept readable for analysts; a value JSON cannot hold
# is kept as the text it was rendered as (``default=str``). One encoder: ``json.dumps`` with
# options makes a new one per call (0.5 µs of a row's 4.5 µs here).
_PARAMS_JSON = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _finding_values(submission_id: int, f: Finding) -> tuple[object, ...]:
    """A finding as a row of the findings table: its text, and what the text was rendered
    from when it came from the catalogue."""
    rendered = f.text is None
    return (submission_id, f.severity, f.code, f.worksheet, f.cell, f.field, f.value, f.message,
            f.wording if rendered else None, _PARAMS_JSON(f.params) if rendered else None)


def stored_finding(row: Mapping[str, Any], file: str) -> Finding:
    """A finding as the findings table keeps it, of a submission whose file is ``file``: with
    its wording and parameters when they were stored (the same finding as was recorded, reading
    the text it was stored with), else as its stored text."""
    params = row["params"]
    if params is None:
        return Finding(row["code"], row["severity"], row["message"], file, row["worksheet"], row["cell"],
                       row["field"], row["value"])
    return as_told(Finding(row["code"], row["severity"], None, file, row["worksheet"], row["cell"], row["field"],
                           row["value"], json.loads(params), row["wording"] or ""), row["message"])


def submission_row(row: Mapping[str, Any]) -> SubmissionRow:
    return SubmissionRow(
        id=row["id"], sha256=row["sha256"], file_name=row["file_name"],
        received_at=row["received_at"], outcome=row["outcome"],
        collection_id=row["collection_id"], login=row["login"], form_id=row["form_id"],
        form_version=row["form_version"], archive_path=row["archive_path"],
        error_count=row["error_count"], warning_count=row["warning_count"],
        processed_at=row["processed_at"], saved_by=row["saved_by"],
    )


def find_sha(conn: Connection, fixed: FixedTables, sha256: str) -> SubmissionRow | None:
    s = fixed.submissions
    row = conn.execute(sa.select(s).where(s.c.sha256 == sha256)).mappings().first()
    return submission_row(row) if row is not None else None


def _check_rows(sheet_key: str, frame: pl.DataFrame, expected: dict[str, pl.DataType]) -> None:
    """The frame must hold exactly the sheet's columns with the types the spec gives them
    (an all-null column may be typed Null); anything else is a caller's bug, not a school's."""
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
    if missing or extra:
        raise WarehouseError(
            f"rows of sheet '{sheet_key}' do not match the form: "
            f"missing columns {missing}, unknown columns {extra}"
        )
    for name, dtype in frame.schema.items():
        want = expected[name]
        ok = dtype == want or dtype == pl.Null or (name == "row_number" and dtype.is_integer())
        if not ok:
            raise WarehouseError(
                f"rows of sheet '{sheet_key}': column '{name}' is {dtype}, expected {want}"
            )


def record_in(
    conn: Connection,
    fixed: FixedTables,
    statements: Statements,
    forms: Mapping[tuple[str, int], FormTables],
    sub: NewSubmission,
    findings: Sequence[Finding],
    rows: Mapping[str, pl.DataFrame] | None,
) -> tuple[SubmissionRow, bool]:
    """Record ``sub`` in the transaction of ``conn``. Returns the row and whether it is new:
    a known SHA-256 writes nothing and returns the earlier submission."""
    if sub.outcome not in STORED_OUTCOMES:
        raise WarehouseError(
            f"outcome '{sub.outcome}' is not stored: a duplicate is answered by the earlier "
            f"submission (find_sha), known outcomes are {', '.join(STORED_OUTCOMES)}"
        )
    accepted = sub.outcome in ACCEPTED
    target: FormTables | None = None
    if accepted:
        if sub.collection_id is None or sub.login is None:
            raise WarehouseError("an accepted submission needs its collection and login")
        if sub.form_id is None or sub.form_version is None:
            raise WarehouseError("an accepted submission needs its form id and version")
        target = forms.get((sub.form_id, sub.form_version))
        if target is None:
            raise WarehouseError(
                f"form {sub.form_id} v{sub.form_version} is not registered with the warehouse; "
                "pass it to Warehouse(engine, forms) or create(forms)"
            )
    processed_at = sub.processed_at or datetime.now(UTC)
    values: dict[str, Any] = {
        "sha256": sub.sha256, "file_name": sub.file_name, "received_at": sub.received_at,
        "collection_id": sub.collection_id, "login": sub.login, "form_id": sub.form_id,
        "form_version": sub.form_version, "outcome": sub.outcome,
        "archive_path": sub.archive_path,
        "error_count": sum(1 for f in findings if f.severity == "error"),
        "warning_count": sum(1 for f in findings if f.severity == "warning"),
        "processed_at": processed_at,
        "saved_by": sub.saved_by,
    }
    new_id = conn.execute(statements.insert_submission, values).scalar()
    if new_id is None:
        earlier = find_sha(conn, fixed, sub.sha256)
        assert earlier is not None  # the conflict was on this sha256
        return earlier, False
    bulk_insert(conn, fixed.findings, _FINDING_COLUMNS, [_finding_values(new_id, f) for f in findings])
    raise_stage_in(conn, sub.collection_id, sub.login, ACCEPTED_STAGE if accepted else WORKING)
    if target is not None:
        _insert_rows(conn, target, new_id, rows or {})
        conn.execute(statements.make_current, {
            "collection_id": sub.collection_id, "login": sub.login, "submission_id": new_id,
            "received_at": sub.received_at,
        })
    row = SubmissionRow(id=new_id, error_count=values["error_count"],
                        warning_count=values["warning_count"], sha256=sub.sha256,
                        file_name=sub.file_name, received_at=sub.received_at.astimezone(UTC),
                        outcome=sub.outcome, collection_id=sub.collection_id, login=sub.login,
                        form_id=sub.form_id, form_version=sub.form_version,
                        archive_path=sub.archive_path, processed_at=processed_at.astimezone(UTC),
                        saved_by=sub.saved_by)
    return row, True


def _insert_rows(conn: Connection, target: FormTables, submission_id: int,
                 rows: Mapping[str, pl.DataFrame]) -> None:
    unknown = [k for k in rows if k not in target.tables]
    if unknown:
        raise WarehouseError(
            f"form {target.form.id} has no sheet table {unknown}; "
            f"its sheets are {sorted(target.tables)}"
        )
    sqlite_dates = conn.dialect.name == "sqlite"
    for sheet in target.form.sheets:
        frame = rows.get(sheet.table)
        if frame is None or frame.height == 0:
            continue
        schema = frame_schema(sheet)
        _check_rows(sheet.table, frame, schema)
        # Column lists zipped into tuples: several times cheaper than a polars select per
        # submission (a select starts the query engine: 0.2 to 2 ms for 50 rows).
        columns: list[list[Any]] = [[submission_id] * frame.height]
        for name in schema:  # the table's column order: row_number, then the fields
            series = frame.get_column(name)
            values = series.to_list()
            if sqlite_dates and series.dtype == pl.Date:
                # As SQLAlchemy's SQLite Date stores it (and reads it back): 2026-04-01.
                values = [None if v is None else v.isoformat() for v in values]
            columns.append(values)
        bulk_insert(conn, target.tables[sheet.table], ["submission_id", *schema],
                    list(zip(*columns, strict=True)))
