"""The PostgreSQL databases federal scale needs: Prefect's own (created if missing) and the
warehouse (which must be PostgreSQL)."""

from __future__ import annotations

from flows.errors import OperatorError
from flows.settings import Settings

PREFECT_DB_ENV = "PREFECT_SERVER_DATABASE_CONNECTION_URL"


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database ``url`` names if it does not exist yet; True if created.
    Prefect's server migrates its own tables into it when it starts."""
    import psycopg
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise OperatorError(f"not a database URL: {url!r}; use postgresql+asyncpg://user@host:5432/prefect") from exc
    if parsed.get_backend_name() != "postgresql":
        raise OperatorError(f"Prefect's server here runs on PostgreSQL (on SQLite it answers 503 under load), "
                            f"not {parsed.get_backend_name()}: use postgresql+asyncpg://user@host:5432/prefect")
    if not parsed.database:
        raise OperatorError(f"the Prefect database URL names no database: {parsed.render_as_string()}")
    params = {"host": parsed.host or "127.0.0.1", "port": parsed.port or 5432,
              "user": parsed.username or "postgres", "dbname": "postgres", "connect_timeout": 10}
    if parsed.password:
        params["password"] = parsed.password
    try:
        with psycopg.connect(**params, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone():
                return False
            conn.execute(f'CREATE DATABASE "{parsed.database}"')
            return True
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OperatorError(f"cannot reach or create the Prefect database {parsed.database} on "
                            f"{params['host']}:{params['port']}: {first}") from exc


def require_postgres_warehouse(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        raise OperatorError("scale-out needs the warehouse on PostgreSQL (workers on several machines write "
                            "to it at once): set SBOR_DATABASE_URL=postgresql+psycopg://user@host:5432/sbor")
