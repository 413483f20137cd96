"""Opening the warehouse database: SQLite (the embedded default) or PostgreSQL, by URL.

SQLite is tuned on every new connection: WAL (readers never block the writer), foreign keys
enforced, synchronous=NORMAL (safe in WAL: a power cut may lose the last commits, never
corrupt), and a busy timeout so that concurrent writers wait instead of failing.

Python's sqlite3 driver (before 3.12's ``autocommit``) begins transactions only before DML, so
SELECTs are not repeatable and DDL runs outside the transaction. We switch its own transaction
handling off and emit BEGIN ourselves (see SQLAlchemy's "sqlite_transactions" docs); writers ask
for BEGIN IMMEDIATE so they take the write lock up front and wait on ``busy_timeout``, instead of
failing with "database is locked" when a read transaction cannot be upgraded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from warehouse.errors import DatabaseUnavailable, WarehouseError

BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10
# Execution option that makes a SQLite transaction BEGIN IMMEDIATE (see the module docstring).
WRITE_OPTION = "sbor_write"
# Execution option of ``reader``'s SQLite connections: no BEGIN, each statement on its own.
READ_OPTION = "sbor_read"


def sqlite_url(path: Path | str) -> str:
    """The SQLAlchemy URL of a SQLite file: ``sqlite_url(Path("run/sbor.db"))``."""
    return f"sqlite+pysqlite:///{Path(path).resolve()}"


def connect(url: str) -> Engine:
    """An engine for ``url`` (``sqlite+pysqlite:///…`` or ``postgresql+psycopg://…``), after
    checking that the database answers. Raises ``DatabaseUnavailable`` when it does not."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise WarehouseError(
            f"not a database URL: {url!r}; use sqlite+pysqlite:///path/to/sbor.db or "
            "postgresql+psycopg://user@host:5432/database"
        ) from exc
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            # A bare postgresql:// would pick psycopg2, which we do not ship.
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs["pool_pre_ping"] = True  # survive a server restart between scheduled runs
        # A web process answers from a pool of 40 threads: with SQLAlchemy's default of 5 kept
        # connections, the 6th concurrent request opened a new PostgreSQL backend and closed it
        # after (bench_webform_http: one new backend per 6 autosaves, a third of their cost).
        # Connections are opened only as needed; up to 15 are kept for reuse.
        kwargs["pool_size"] = 15
        kwargs["max_overflow"] = 10
        if "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise WarehouseError(f"cannot use the database URL {safe_url(parsed)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    elif engine.dialect.name != "postgresql":
        raise WarehouseError(
            f"the warehouse runs on SQLite or PostgreSQL, not {engine.dialect.name} "
            f"({safe_url(parsed)})"
        )
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise unavailable(engine, exc) from exc
    return engine


def safe_url(url: sa.URL | Engine) -> str:
    """The URL with its password hidden, fit for messages and logs."""
    u = url.url if isinstance(url, Engine) else url
    return u.render_as_string(hide_password=True)


def unavailable(engine: Engine, exc: BaseException) -> DatabaseUnavailable:
    """The ``DatabaseUnavailable`` for a failure to open or keep a connection to ``engine``."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if engine.dialect.name == "sqlite":
        path = engine.url.database or ":memory:"
        advice = (
            f"Check that the folder of {path} exists and is writable, and that no other "
            "program holds the database locked."
        )
    else:
        host = engine.url.host or "localhost"
        port = engine.url.port or 5432
        advice = (
            f"Check the database URL, and that PostgreSQL is running at {host}:{port} and "
            f"accepts connections to database {engine.url.database!r}."
        )
    return DatabaseUnavailable(safe_url(engine), reason, advice)


def is_unavailable(exc: sa.exc.DBAPIError) -> bool:
    """True for failures that retrying may cure: lost connections, a locked SQLite file."""
    if exc.connection_invalidated:
        return True
    text = str(exc.orig).lower()
    return isinstance(exc, sa.exc.OperationalError) and (
        "database is locked" in text
        or "unable to open database" in text
        or "connection" in text
        or "server closed" in text
    )


@contextlib.contextmanager
def connection(engine: Engine, *, write: bool = False) -> Iterator[Connection]:
    """A connection (no transaction yet) whose failures to connect become
    ``DatabaseUnavailable``. ``write`` makes its SQLite transactions take the write lock at
    once (BEGIN IMMEDIATE)."""
    try:
        with engine.connect() as conn:
            if write:
                conn.execution_options(**{WRITE_OPTION: True})
            yield conn
    except sa.exc.DBAPIError as exc:
        if is_unavailable(exc):
            raise unavailable(engine, exc) from exc
        raise


# Serialises DDL across processes on PostgreSQL: two web workers starting at once both found a
# table missing and both ran CREATE TABLE, and one of them died of the duplicate.
PG_DDL_LOCK = 0x5B0E


def create_missing(engine: Engine, metadata: sa.MetaData) -> None:
    """``metadata``'s tables that the database lacks, created in one transaction that holds the
    DDL lock on PostgreSQL (idempotent, safe for workers starting together). The cabinet's, the
    drafts' and the reports' tables each live in a MetaData of their own, so that the pipeline's
    warehouse works without them."""
    with guarded(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(PG_DDL_LOCK)))
        metadata.create_all(conn, checkfirst=True)


@contextlib.contextmanager
def guarded(engine: Engine, *, write: bool = False) -> Iterator[Connection]:
    """``connection()`` inside one transaction, committed when the block succeeds."""
    with connection(engine, write=write) as conn, conn.begin():
        yield conn


@contextlib.contextmanager
def reader(engine: Engine) -> Iterator[Connection]:
    """A connection for reads that need no transaction of their own (a cabinet page's queries).
    Autocommit: each statement sees what is committed when it runs, and no BEGIN or COMMIT
    costs a round trip; given back with nothing open on it, so returning it costs none either.

    Hold one at a time: a request that holds one and waits for a second (a nested ``guarded``)
    can, with enough such requests, hold every connection of the pool between them and wait
    for ever."""
    with connection(engine) as conn:
        if conn.dialect.name == "sqlite":
            # The driver's connection is in autocommit already (isolation_level None, module
            # docstring): the begin listener is told to emit no BEGIN. SQLAlchemy's AUTOCOMMIT
            # would set the driver's own transaction handling back on when the pool takes it back.
            yield conn.execution_options(**{READ_OPTION: True})
        else:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def reading(engine: Engine, conn: Connection | None) -> Iterator[Connection]:
    """``conn`` if the caller holds one (``reader``), else a new ``reader``."""
    if conn is not None:
        yield conn
        return
    with reader(engine) as own:
        yield own


def _tune_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (module docstring)
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
        finally:
            cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_OPTION, False):
            return  # reader's connection: each statement on its own
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
