"""The warehouse's tables: the fixed ones, and one typed table per form sheet built from the spec.

Fixed: organisations, collections, participants, submissions (every file ever received),
findings, current_submissions (the latest accepted submission per collection and school).
Per form sheet: ``data_<form>_<sheet>[_v<version>]`` with submission_id, row_number and one typed
column per field; every submission's rows stay there (history), and the view
``current_<form>_<sheet>[_v<version>]`` shows the rows of each school's current submission.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect

from forms import Form, Sheet
from forms.types import TYPES
from forms.wording import worded
from warehouse.rows import STORED_OUTCOMES


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware datetime, stored as UTC. SQLite has no time zones, so it keeps naive UTC text
    (which sorts correctly); PostgreSQL keeps timestamptz. Either way it comes back aware UTC.
    A naive datetime is refused: guessing its zone is how reports end up three hours off."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give it a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ascii_code(length: int) -> sa.types.TypeEngine[str]:
    """An ASCII code (login, region, collection id, sha256). On PostgreSQL it compares in the
    "C" collation: the same order for ASCII, and far cheaper than a locale's when 40,000
    participants are sorted by region, municipality and login."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def serial_id() -> sa.types.TypeEngine[int]:
    """An id the database numbers: BIGINT on PostgreSQL (findings and downloads may outgrow 2^31
    rows over the years at federal scale), INTEGER on SQLite, where only an INTEGER primary key
    numbers itself."""
    return BigInteger().with_variant(Integer, "sqlite")


@dataclass(frozen=True)
class FixedTables:
    organisations: Table
    collections: Table
    participants: Table
    submissions: Table
    findings: Table
    current_submissions: Table
    work_started: Table
    tallies: Table


def define_fixed_tables(metadata: MetaData) -> FixedTables:
    """Declare the fixed tables in ``metadata`` (which must not hold them yet)."""
    organisations = Table(
        "organisations", metadata,
        Column("login", ascii_code(16), primary_key=True),
        Column("full_name", Text, nullable=False),
        Column("short_name", Text, nullable=False),
        Column("region_code", ascii_code(2), nullable=False),
        Column("region_name", Text, nullable=False),
        Column("municipality_code", ascii_code(16), nullable=False),
        Column("municipality_name", Text, nullable=False),
        Column("kind", String(8), nullable=False),
        # Speciality codes joined by ";" (codes never hold one): a list, not a relation, that
        # only ever prefills a template.
        Column("specialities", Text, nullable=False, server_default=""),
        # A coordinator's schools in order (region, municipality, login), and counted by kind
        # (an audience) from the index alone; it replaced ix_organisations_area (RETIRED_INDEXES).
        Index("ix_organisations_place", "region_code", "municipality_code", "login", "kind"),
        # Covers the join of participants with their place (monitoring's counts per region or
        # municipality): the 40,000 rows of a federal collection read from the index alone.
        Index("ix_organisations_login_area", "login", "region_code", "municipality_code"),
    )
    collections = Table(
        "collections", metadata,
        Column("id", ascii_code(100), primary_key=True),
        Column("title", Text, nullable=False),
        Column("section", Text, nullable=False),
        Column("form_id", String(100), nullable=False),
        Column("form_version", Integer, nullable=False),
        Column("opens", UtcDateTime, nullable=False),
        Column("closes", UtcDateTime, nullable=False),
        Column("period_start", Date),
        Column("period_end", Date),
        Column("info", Text, nullable=False, server_default=""),
        Column("files", Text, nullable=False, server_default=""),  # one name per line
        Column("published_at", UtcDateTime, nullable=False),
    )
    participants = Table(
        "participants", metadata,
        Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"),
               primary_key=True),
        Column("login", ForeignKey("organisations.login"), primary_key=True),
        # How far the school has got (warehouse.tallies): kept with the tallies, not read alone.
        # Added after the first release: ADDED_COLUMNS brings older databases up to date.
        Column("stage", SmallInteger, nullable=False, server_default="0"),
    )
    outcomes = ", ".join(f"'{o}'" for o in STORED_OUTCOMES)
    submissions = Table(
        "submissions", metadata,
        Column("id", serial_id(), primary_key=True, autoincrement=True),
        Column("sha256", ascii_code(64), nullable=False, unique=True),
        Column("file_name", Text, nullable=False),
        Column("received_at", UtcDateTime, nullable=False),
        # No foreign keys on collection and login: a submission records every file received,
        # including those naming a collection or school we do not know; refusing to record them
        # would lose the file's outcome.
        Column("collection_id", ascii_code(100)),
        Column("login", ascii_code(16)),
        Column("form_id", String(100)),
        Column("form_version", Integer),
        Column("outcome", String(32), nullable=False),
        Column("archive_path", Text),
        Column("error_count", Integer, nullable=False),
        Column("warning_count", Integer, nullable=False),
        Column("processed_at", UtcDateTime, nullable=False),
        # The program that saved the file, from its document properties («LibreOffice 7.4.7.2»).
        # Added after the first release: ADDED_COLUMNS brings older databases up to date.
        Column("saved_by", Text),
        CheckConstraint(f"outcome IN ({outcomes})", name="ck_submissions_outcome"),
        # Serves history(), statuses() and the "newer than current" comparison.
        Index("ix_submissions_school", "collection_id", "login", "received_at", "id"),
    )
    findings = Table(
        "findings", metadata,
        Column("id", serial_id(), primary_key=True, autoincrement=True),
        Column("submission_id", ForeignKey("submissions.id", ondelete="CASCADE"),
               nullable=False, index=True),
        Column("severity", String(16), nullable=False),
        Column("code", Text, nullable=False),
        Column("worksheet", Text),
        Column("cell", String(16)),
        Column("field", String(32)),
        Column("value", Text),
        Column("message", Text, nullable=False),  # the Russian text the school was given
        # What the message was rendered from (``forms.catalogue``): the wording's key and its
        # named parameters as a JSON object, so that a finding read back is the finding that was
        # recorded and a page can word it otherwise. NULL for a finding given as text, and for
        # findings stored before these columns were added (ADDED_COLUMNS): those are text only.
        Column("wording", Text),
        Column("params", Text),
    )
    current_submissions = Table(
        "current_submissions", metadata,
        Column("collection_id", ascii_code(100), primary_key=True),
        Column("login", ascii_code(16), primary_key=True),
        Column("submission_id", ForeignKey("submissions.id"), nullable=False, unique=True),
        # A copy of the submission's received_at: "is the new file newer?" is then decided on
        # this row alone, which PostgreSQL re-reads after waiting for a concurrent writer; a
        # subquery on submissions would see the snapshot from before that writer committed.
        Column("received_at", UtcDateTime, nullable=False),
    )
    # How many participants of a collection stand at each stage in each municipality
    # (warehouse.tallies): the monitoring counts, kept as files and starts are recorded.
    tallies = Table(
        "tallies", metadata,
        Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True),
        Column("region_code", ascii_code(2), primary_key=True),
        Column("municipality_code", ascii_code(16), primary_key=True),
        Column("stage", SmallInteger, primary_key=True),
        Column("n", Integer, nullable=False),
    )
    return FixedTables(organisations, collections, participants, submissions, findings,
                       current_submissions, work_started_table(metadata), tallies)


WORK_STARTS = ("draft", "template")


def work_started_table(metadata: MetaData) -> Table:
    """The first sign of a school's work on a collection that is not a file (issue 13: «В работе»
    starts with the first draft or the template's download, as with the first file sent); the
    first one is kept. ``drafts`` and the file storage live in the cabinet's own tables, which
    a pipeline-only warehouse lacks: the status query reads this one instead."""
    hows = ", ".join(f"'{h}'" for h in WORK_STARTS)
    return Table(
        "work_started", metadata,
        Column("collection_id", ascii_code(100), primary_key=True),
        Column("login", ascii_code(32), primary_key=True),
        Column("started_at", UtcDateTime, nullable=False),
        Column("how", String(16), nullable=False),
        CheckConstraint(f"how IN ({hows})", name="ck_work_started_how"),
    )


# Nullable columns added to a fixed table after databases holding it were made: create_all()
# leaves an existing table as it is, so Warehouse.create() adds each one that is missing.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("submissions", "saved_by", "TEXT"), ("findings", "wording", "TEXT"), ("findings", "params", "TEXT"),
    # NOT NULL with a constant default: no table rewrite on PostgreSQL 11+ either.
    ("participants", "stage", "SMALLINT NOT NULL DEFAULT 0"))


def add_missing_columns(conn: sa.Connection) -> list[str]:
    """ALTER TABLE … ADD COLUMN for every ``ADDED_COLUMNS`` entry the database lacks (the same
    statement on SQLite and PostgreSQL; a nullable column costs no table rewrite on either).
    Returns the columns added, as ``table.column``."""
    inspector = sa.inspect(conn)
    added = []
    for table, column, kind in ADDED_COLUMNS:
        if column not in {c["name"] for c in inspector.get_columns(table)}:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            added.append(f"{table}.{column}")
    return added


# Indexes a later one replaced (table, index): dropped where a database still has them, so
# that writes stop keeping them up to date.
RETIRED_INDEXES = (("organisations", "ix_organisations_area"),)  # by ix_organisations_place


def add_missing_indexes(conn: sa.Connection, fixed: FixedTables) -> list[str]:
    """CREATE INDEX for every index of the fixed tables that the database lacks: like a
    column, an index added to a table after databases holding it were made is left out by
    create_all() (e.g. ix_organisations_login_area, which the operator's counts read). Drops
    the ``RETIRED_INDEXES`` it finds. Returns the indexes created."""
    inspector = sa.inspect(conn)
    created = []
    for table in (getattr(fixed, f.name) for f in fields(fixed)):
        have = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in have:
                index.create(conn)
                created.append(str(index.name))
        for retired in (name for t, name in RETIRED_INDEXES if t == table.name and name in have):
            conn.exec_driver_sql(f"DROP INDEX {retired}")  # a name of ours: the same DDL on both
    return created


def _suffix(form: Form) -> str:
    return f"_v{form.version}" if form.version > 1 else ""


def table_name(form: Form, sheet: Sheet) -> str:
    """``data_spo_specialities_specialities``; ``…_v2`` from version 2 on."""
    return f"data_{form.id}_{sheet.table}{_suffix(form)}"


def view_name(form: Form, sheet: Sheet) -> str:
    """``current_spo_specialities_specialities``; ``…_v2`` from version 2 on."""
    return f"current_{form.id}_{sheet.table}{_suffix(form)}"


def frame_schema(sheet: Sheet) -> dict[str, pl.DataType]:
    """The polars schema of a sheet's rows as ``record()`` takes them and ``current_rows()``
    gives them back: row_number (the Excel row), then one column per field."""
    schema: dict[str, pl.DataType] = {"row_number": pl.Int64()}
    schema.update({f.name: TYPES[f.type].dtype for f in sheet.fields})
    return schema


def build_tables(form: Form, metadata: MetaData) -> dict[str, Table]:
    """The typed tables of ``form``, keyed by ``sheet.table``, declared in ``metadata`` (which
    holds the fixed tables: rows point at their submission). Declaring a form twice returns the
    tables already declared."""
    form = worded(form, None)  # one table serves every collection: generic words in its comments
    tables: dict[str, Table] = {}
    for sheet in form.sheets:
        name = table_name(form, sheet)
        if name in metadata.tables:
            tables[sheet.table] = metadata.tables[name]
            continue
        # Fields are nullable even when required: the validator is the one judge of a file, and
        # a second, stricter judge here would turn its verdict into a failed load.
        # The primary key (submission_id, row_number) is the index on submission_id.
        tables[sheet.table] = Table(
            name, metadata,
            Column("submission_id", ForeignKey("submissions.id", ondelete="CASCADE"),
                   primary_key=True),
            Column("row_number", Integer, primary_key=True, autoincrement=False),
            *(Column(f.name, TYPES[f.type].sql(), comment=f"{f.number}. {f.title}"[:1000])
              for f in sheet.fields),
            comment=f"{form.title} — {sheet.name} (form {form.id} v{form.version})",
        )
    return tables


def current_select(data: Table, fixed: FixedTables) -> sa.Select[Any]:
    """The rows of each school's current accepted submission, with collection and login:
    the body of the analysts' view, and of ``current_rows()``."""
    cur = fixed.current_submissions
    fields = [c for c in data.columns if c.name not in ("submission_id", "row_number")]
    return (
        sa.select(cur.c.collection_id, cur.c.login, data.c.submission_id, cur.c.received_at,
                  data.c.row_number, *fields)
        .select_from(data)
        .join(cur, cur.c.submission_id == data.c.submission_id)
    )
