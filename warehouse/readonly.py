"""Analysts' SQL (``sbor sql``): one statement, run where it cannot write.

SQLite: a separate connection opened read-only (``mode=ro``) with ``PRAGMA query_only``, so not
even a PRAGMA in the query can turn writing back on; the sqlite3 driver runs one statement only;
ATTACH is refused too (it would create an empty file wherever the query names).
PostgreSQL: the transaction is READ ONLY, and the query is sent as a prepared statement, which
PostgreSQL refuses to hold more than one command in (so "COMMIT; DELETE …" cannot escape the
read-only transaction).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.engine import BUSY_TIMEOUT_MS, is_unavailable, unavailable
from warehouse.errors import ReadOnlyViolation, WarehouseError

Result = tuple[list[str], list[tuple[Any, ...]]]


def run_readonly(engine: Engine, query: str, max_rows: int | None = None) -> Result:
    """Column names and rows of ``query``; writes are refused with ``ReadOnlyViolation``."""
    if engine.dialect.name == "sqlite":
        return _sqlite(engine, query, max_rows)
    return _postgres(engine, query, max_rows)


def _fetch(cursor: Any, max_rows: int | None) -> Result:
    if cursor.description is None:
        return [], []
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall() if max_rows is None else cursor.fetchmany(max_rows)
    return names, [tuple(r) for r in rows]


def _sqlite(engine: Engine, query: str, max_rows: int | None) -> Result:
    database = engine.url.database
    if not database or database == ":memory:":
        raise WarehouseError("sql() needs a SQLite file; an in-memory database has no readers")
    uri = Path(database).resolve().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.OperationalError as exc:
        raise unavailable(engine, exc) from exc
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.set_authorizer(_no_attach)
        try:
            cursor = conn.execute(query)
            return _fetch(cursor, max_rows)
        except sqlite3.ProgrammingError as exc:
            if "one statement" in str(exc):  # "You can only execute one statement at a time."
                raise ReadOnlyViolation(query, "more than one statement") from exc
            raise WarehouseError(f"the query failed: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if any(w in text for w in ("readonly", "read-only", "query_only", "not authorized")):
                raise ReadOnlyViolation(query, text) from exc
            if "locked" in text:
                raise unavailable(engine, exc) from exc
            raise WarehouseError(f"the query failed: {text}") from exc
    finally:
        conn.close()


def _no_attach(action: int, *_args: object) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _postgres(engine: Engine, query: str, max_rows: int | None) -> Result:
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(query, prepare=True)
                return _fetch(cursor, max_rows)
            except psycopg.Error as exc:
                # The raw cursor's errors are psycopg's own, not SQLAlchemy's: classify here.
                raise _pg_error(engine, query, exc) from exc
            finally:
                cursor.close()
                conn.rollback()
    except sa.exc.DBAPIError as exc:
        if is_unavailable(exc):
            raise unavailable(engine, exc) from exc
        raise WarehouseError(f"the query failed: {exc.orig}") from exc


def _pg_error(engine: Engine, query: str, exc: psycopg.Error) -> WarehouseError:
    first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return ReadOnlyViolation(query, first_line)
    if isinstance(exc, psycopg.errors.SyntaxError) and "multiple commands" in first_line:
        return ReadOnlyViolation(query, "more than one statement")
    if isinstance(exc, psycopg.OperationalError):
        return unavailable(engine, exc)
    return WarehouseError(f"the query failed: {first_line}")
