"""What one coordinator's «Экспорт результатов» reads, scoped in the query.

The schedule's results workbooks read every current row and the registry once and cut each
coordinator's share in memory (``flows.report``); one export asked in the cabinet reads its own
share only. Per form sheet it is one query: the current rows of the collection joined with the
registry for the school's name and the coordinator's territory, only the columns the workbook
shows (login, name, row, fields). Reading the registry (40,000 ``Organisation`` objects) and the
participant list apart from the rows took as long as the rows themselves (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from forms import Form
from warehouse.engine import guarded
from warehouse.frames import copy_frame
from warehouse.store import Warehouse
from warehouse.tables import frame_schema

# The school's name in the frames: a leading underscore, which no field name has (forms.loader).
NAME = "_school_name"


@dataclass(frozen=True)
class Scope:
    """A coordinator's territory: no region for the operator (every school)."""

    region: str | None = None
    municipality: str | None = None


@dataclass(frozen=True)
class ResultsShare:
    """One coordinator's share of a collection's current data."""

    takes_part: bool  # some school of the scope is a participant of the collection
    frames: dict[str, pl.DataFrame]  # sheet.table → login, _school_name, row_number, fields


Read = Callable[[Connection, sa.Select[Any], dict[str, pl.DataType]], pl.DataFrame]


def results_share(wh: Warehouse, form: Form, collection_id: str, scope: Scope,
                  read: Read = copy_frame) -> ResultsShare:
    """The current rows of every sheet of ``form`` in ``collection_id`` from the schools of
    ``scope``, each with the school's short name (its full name when it has none), ordered by
    login and row; and whether any school of ``scope`` takes part. One transaction. ``read``
    turns a query into a frame (``read_frame``'s cursor, for bench/bench_export_reads.py)."""
    p, o = wh.fixed.participants, wh.fixed.organisations
    taking = _scoped(sa.select(p.c.login).select_from(p).join(o, o.c.login == p.c.login)
                     .where(p.c.collection_id == collection_id), o, scope)
    with guarded(wh.engine) as conn:
        takes_part = conn.execute(taking.limit(1)).first() is not None
        # No ORDER BY: the database's collation may order logins otherwise than polars (bytes).
        frames = {table: read(conn, query, schema).sort("login", "row_number")
                  for table, (query, schema) in share_queries(wh, form, collection_id, scope).items()}
    return ResultsShare(takes_part, frames)


def share_queries(wh: Warehouse, form: Form, collection_id: str,
                  scope: Scope) -> dict[str, tuple[sa.Select[Any], dict[str, pl.DataType]]]:
    """Per sheet (``sheet.table``), the query of ``scope``'s share and the polars schema of its
    columns."""
    o, cur = wh.fixed.organisations, wh.fixed.current_submissions
    name = sa.func.coalesce(sa.func.nullif(o.c.short_name, ""), o.c.full_name).label(NAME)
    queries: dict[str, tuple[sa.Select[Any], dict[str, pl.DataType]]] = {}
    for sheet in form.sheets:
        data = wh.tables(form)[sheet.table]
        fields = [data.c[f.name] for f in sheet.fields]
        # An outer join: a login missing from the registry keeps its rows (without a name) in
        # the operator's export, as the in-memory cut keeps them; a territory filters it out.
        query = _scoped(sa.select(cur.c.login, name, data.c.row_number, *fields)
                        .select_from(data)
                        .join(cur, cur.c.submission_id == data.c.submission_id)
                        .outerjoin(o, o.c.login == cur.c.login)
                        .where(cur.c.collection_id == collection_id), o, scope)
        queries[sheet.table] = query, {"login": pl.String(), NAME: pl.String(), **frame_schema(sheet)}
    return queries


def _scoped(query: sa.Select[Any], o: sa.Table, scope: Scope) -> sa.Select[Any]:
    if scope.region is not None:
        query = query.where(o.c.region_code == scope.region)
    if scope.municipality is not None:
        query = query.where(o.c.municipality_code == scope.municipality)
    return query
