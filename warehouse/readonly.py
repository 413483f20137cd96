"""Analysts' SQL (``sbor sql``): one statement, run where it cannot write.

SQLite: a separate connection opened read-only (``mode=ro``) with ``PRAGMA query_only``, so not
even a PRAGMA in the query can turn writing back on; the sqlite3 driver runs one statement only;
ATTACH is refused too (it would create an empty file wherever the query names).
PostgreSQL: a connection of its own, logged in as the analysts' role (``warehouse/analysts.py``
says why not SET ROLE): it may only read sbor's tables and views and cannot reach the server's
files or programs. The transaction is READ ONLY with a statement timeout; the statement is parsed
first and refused unrun unless it returns rows (SET ROLE, RESET, COPY, DDL), and it is sent as a
prepared statement, which PostgreSQL refuses to hold more than one command in (so
"COMMIT; DELETE …" cannot escape the read-only transaction).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy.engine import Engine

from warehouse.analysts import AnalystRole
from warehouse.engine import BUSY_TIMEOUT_MS, CONNECT_TIMEOUT_S, unavailable
from warehouse.errors import ReadOnlyViolation, WarehouseError

Result = tuple[list[str], list[tuple[Any, ...]]]


def run_readonly(engine: Engine, query: str, max_rows: int | None = None,
                 role: AnalystRole | None = None) -> Result:
    """Column names and rows of ``query``; writes are refused with ``ReadOnlyViolation``.
    On PostgreSQL the query runs logged in as ``role`` (``warehouse/analysts.py``)."""
    if engine.dialect.name == "sqlite":
        return _sqlite(engine, query, max_rows)
    return _postgres(engine, query, max_rows, role)


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


def _postgres(engine: Engine, query: str, max_rows: int | None, role: AnalystRole | None) -> Result:
    if role is None:
        raise WarehouseError("sql() on PostgreSQL runs as the analysts' role; give Warehouse one")
    try:
        conn = _login(engine, role)
    except psycopg.OperationalError as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise WarehouseError(
            f"cannot log in as the analysts' role {role.name} at {engine.url.host or 'localhost'}: "
            f"{reason}. Run `sbor warehouse analyst-role` (again, if the secret changed), and let "
            f"{role.name} log in with a password in pg_hba.conf"
        ) from exc
    try:
        conn.read_only = True  # BEGIN READ ONLY, besides the role's own default
        with conn.cursor() as cursor:
            _check_role(cursor, role)
            cursor.execute(f"SET LOCAL statement_timeout = {int(role.statement_timeout_s) * 1000}")
            _refuse_non_queries(conn, query)
            cursor.execute(query, prepare=True)
            return _fetch(cursor, max_rows)
    except psycopg.Error as exc:
        # The raw connection's errors are psycopg's own, not SQLAlchemy's: classify here.
        raise _pg_error(engine, query, exc, role) from exc
    finally:
        conn.close()  # never committed: whatever the query did is rolled back


def _login(engine: Engine, role: AnalystRole) -> psycopg.Connection[Any]:
    """A connection of its own, logged in as the role: the same server, database and options
    (a search_path among them) as the warehouse's URL, another user."""
    url = engine.url.set(username=role.name, password=role.password)
    args, kwargs = engine.dialect.create_connect_args(url)
    kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    return psycopg.connect(*args, **kwargs)


def _check_role(cursor: Any, role: AnalystRole) -> None:
    """Refuse to run as a role that may do more than read: the role name is a setting, and
    nothing stops an operator from naming a superuser in it. sbor makes its role a member of
    nothing, so any membership (pg_read_server_files, pg_execute_server_program, …) is refused."""
    cursor.execute(
        "SELECT r.rolsuper OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls OR EXISTS "
        "(SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid) FROM pg_roles r "
        "WHERE r.rolname = current_user"
    )
    if cursor.fetchone()[0]:
        raise WarehouseError(
            f"the analysts' role {role.name} may do more than read (a superuser, CREATEROLE, "
            "REPLICATION, BYPASSRLS, or a member of a role such as pg_read_server_files); set "
            "SBOR_ANALYST_ROLE to another name and run `sbor warehouse analyst-role`"
        )


def _refuse_non_queries(conn: psycopg.Connection[Any], query: str) -> None:
    """Let the server parse the statement and say whether it returns rows, before it runs:
    SET, RESET, COPY, DO, CALL and DDL return none and are refused unrun. Parsing also refuses
    more than one command."""
    result = conn.pgconn.prepare(b"", query.encode())
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
    described = conn.pgconn.describe_prepared(b"")
    if described.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(described, encoding=conn.info.encoding)
    if described.nfields == 0:
        raise ReadOnlyViolation(query, "it is not a query that returns rows")


def _pg_error(engine: Engine, query: str, exc: psycopg.Error, role: AnalystRole) -> WarehouseError:
    first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return ReadOnlyViolation(query, first_line)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return ReadOnlyViolation(query, f"{first_line} (analysts' SQL runs as {role.name}, "
                                        "which may only read sbor's tables and views)")
    if isinstance(exc, psycopg.errors.SyntaxError) and "multiple commands" in first_line:
        return ReadOnlyViolation(query, "more than one statement")
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return WarehouseError(f"the query ran longer than {role.statement_timeout_s} s and was "
                              "stopped (SBOR_SQL_TIMEOUT)")
    if isinstance(exc, psycopg.OperationalError):
        return unavailable(engine, exc)
    return WarehouseError(f"the query failed: {first_line}")
