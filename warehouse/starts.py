"""The first sign of a school's work on a collection that is not a file: its first draft or its
template's download (``work_started``). The status query reads it beside the files received,
so «В работе» means the same in ``sbor status``, the status workbook and the cabinet."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from warehouse.engine import guarded
from warehouse.loading import dialect_insert
from warehouse.tables import work_started_table
from warehouse.tallies import WORKING, raise_stage_in

# The table as the cabinet's modules reach it (its DDL is the warehouse's: Warehouse.create()).
WORK_STARTED = work_started_table(sa.MetaData())


def record_start_in(conn: Connection, collection_id: str, login: str, how: str, at: datetime) -> None:
    """Note that ``login`` started on ``collection_id`` (``how``: "draft" or "template"), in the
    transaction of ``conn``; the first start is kept, later ones are no-ops."""
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT.
    first = conn.execute(dialect_insert(conn.dialect.name, WORK_STARTED).values(
        collection_id=collection_id, login=login, started_at=at, how=how).on_conflict_do_nothing()
        .returning(WORK_STARTED.c.login)).first()
    if first is not None:
        raise_stage_in(conn, collection_id, login, WORKING)


def record_start(engine: Engine, collection_id: str, login: str, how: str, at: datetime) -> None:
    with guarded(engine, write=True) as conn:
        record_start_in(conn, collection_id, login, how, at)


def has_started(engine: Engine, collection_id: str, login: str) -> bool:
    """Whether ``login`` saved a draft of ``collection_id`` or downloaded its template."""
    w = WORK_STARTED
    with guarded(engine) as conn:
        return conn.execute(sa.select(w.c.login).where(w.c.collection_id == collection_id,
                                                       w.c.login == login)).first() is not None
