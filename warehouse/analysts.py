"""The analysts' role on PostgreSQL: who ``sbor sql`` runs as.

A READ ONLY transaction alone does not stop PostgreSQL from running a program (``COPY … TO
PROGRAM``), writing a server file (``COPY … TO '/path'``) or reading one (``pg_read_file``) when
the connection's user is a superuser, as the README's ``postgres`` URL is. ``SET ROLE`` to a
weaker role inside that session is not enough either: the statement itself may switch back
(``SELECT set_config('role', 'postgres', true), query_to_xml('select pg_read_file(…)', …)`` reads
the file; so does ``set_config('session_authorization', …)``), because PostgreSQL checks those
against the user the session logged in as. So analysts' SQL runs on a connection of its own that
logs in AS the analysts' role: a role with nothing but USAGE on the warehouse's schema and SELECT
on sbor's tables and views, no superuser or other attributes, member of no role (so neither
``pg_read_server_files``, ``pg_write_server_files`` nor ``pg_execute_server_program``), its
transactions read-only by default. Its password is derived from the workspace's secret, so every
machine sharing the secret can log in and nobody needs to keep another password.

``ensure_role`` creates or repairs the role (the operator's user needs CREATEROLE);
``grant_reads`` gives it SELECT on whatever sbor's tables and views are now (views are dropped and
recreated when their definition changes, which drops their grants).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from warehouse.errors import WarehouseError

DEFAULT_ROLE = "sbor_analyst"
DEFAULT_TIMEOUT_S = 60
# Marks a role sbor made, so sbor never alters a role someone else made (a person's, or postgres).
ROLE_COMMENT = "sbor analysts: read-only access to the warehouse (sbor warehouse analyst-role)"
ROLE_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class AnalystRole:
    """The role ``sbor sql`` logs in as, its password and the statement timeout of a query."""

    name: str = DEFAULT_ROLE
    password: str = field(default="", repr=False)
    statement_timeout_s: int = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if not ROLE_PATTERN.fullmatch(self.name):
            raise WarehouseError(
                f"the analysts' role name {self.name!r} is not a plain lower-case identifier "
                "(letters, digits, _; at most 63); set SBOR_ANALYST_ROLE to one like sbor_analyst"
            )


def role_password(secret: bytes, role: str) -> str:
    """The role's password: an HMAC of its name under the workspace's secret."""
    return hmac.new(secret, f"sbor analyst role {role}".encode(), hashlib.sha256).hexdigest()


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def ensure_role(engine: Engine, role: AnalystRole, objects: Iterable[str]) -> None:
    """Create the role (or set its password again) and grant it reading ``objects`` (sbor's
    tables and views) in the current schema. Refuses a role that sbor did not make."""
    if engine.dialect.name != "postgresql":
        raise WarehouseError("the analysts' role is PostgreSQL's; on SQLite sbor sql opens the file read-only")
    if len(role.password) < 32:
        raise WarehouseError("the analysts' role needs a password derived by role_password()")
    with engine.connect() as conn, conn.begin():
        q = _quote(conn, role.name)
        row = conn.execute(sa.text(
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = :r"
        ), {"r": role.name}).first()
        if row is not None and row[0] != ROLE_COMMENT:
            raise WarehouseError(
                f"role {role.name} exists and was not made by sbor; set SBOR_ANALYST_ROLE to another name"
            )
        try:
            if row is None:
                conn.exec_driver_sql(f"CREATE ROLE {q}")
                conn.exec_driver_sql(f"COMMENT ON ROLE {q} IS '{ROLE_COMMENT}'")
            # Every attribute spelled out: a role sbor made is put back to this, whatever it became.
            # Sent as libpq's SCRAM verifier, never in clear text: a server logging DDL keeps
            # the statement. A utility statement takes no parameters; the verifier is base64.
            verifier = _scram(conn, role).decode("ascii")
            if "'" in verifier:
                raise WarehouseError("libpq returned a password verifier sbor cannot quote")
            conn.exec_driver_sql(
                f"ALTER ROLE {q} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                f"NOBYPASSRLS INHERIT CONNECTION LIMIT 20 PASSWORD '{verifier}'"
            )
            conn.exec_driver_sql(f"ALTER ROLE {q} SET default_transaction_read_only = on")
            conn.exec_driver_sql(f"ALTER ROLE {q} SET statement_timeout = '{int(role.statement_timeout_s)}s'")
            for (granted,) in conn.execute(sa.text(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = :r"
            ), {"r": role.name}):
                conn.exec_driver_sql(f"REVOKE {_quote(conn, granted)} FROM {q}")
            grant_reads(conn, role.name, objects)
        except sa.exc.DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0]
            raise WarehouseError(
                f"cannot set up the analysts' role {role.name}: {reason}. Run `sbor warehouse "
                "analyst-role` with a database user that has CREATEROLE and owns the warehouse"
            ) from exc


def _scram(conn: Connection, role: AnalystRole) -> bytes:
    pgconn = conn.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
    return bytes(pgconn.encrypt_password(role.password.encode(), role.name.encode(), b"scram-sha-256"))


def role_exists(conn: Connection, role: str) -> bool:
    return conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is not None


def grant_reads(conn: Connection, role: str, objects: Iterable[str]) -> None:
    """USAGE on the current schema and SELECT on each of ``objects`` that the role cannot read
    yet (granting only what is missing: every command opens the warehouse, and a GRANT rewrites
    the catalog row each time)."""
    names = sorted(set(objects))
    q = _quote(conn, role)
    schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    if not conn.execute(sa.text("SELECT has_schema_privilege(:r, :s, 'USAGE')"),
                        {"r": role, "s": schema}).scalar_one():
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {_quote(conn, schema)} TO {q}")
    missing = conn.execute(sa.text(
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = to_regnamespace(current_schema()) "
        "AND c.relname = ANY(:names) AND NOT has_table_privilege(:r, c.oid, 'SELECT') ORDER BY 1"
    ), {"names": names, "r": role}).scalars().all()
    for name in missing:
        conn.exec_driver_sql(f"GRANT SELECT ON {_quote(conn, name)} TO {q}")


def drop_role(engine: Engine, role: str) -> None:
    """Remove the role and its grants in the current database (tests, and an operator's undo)."""
    with engine.connect() as conn, conn.begin():
        if role_exists(conn, role):
            q = _quote(conn, role)
            conn.exec_driver_sql(f"DROP OWNED BY {q}")
            conn.exec_driver_sql(f"DROP ROLE {q}")
