"""`sbor sql` on real PostgreSQL, tried as an attacker: the operator's URL is the README's (the
`postgres` superuser), and every way out of reading sbor's tables is refused with one line.

Each test gets a schema and an analysts' role of its own (a uuid), dropped after.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from flows.cli import main
from forms import builtin_forms
from warehouse import AnalystRole, Warehouse, connect, drop_role, role_password

PG_ENV = "SBOR_TEST_POSTGRES_URL"
SECRET = "test-secret-not-for-production"  # the workspace fixture's SBOR_SECRET


@dataclass(frozen=True)
class Pg:
    home: Path
    url: str  # the operator's: the superuser, search_path set to the test's schema
    admin: sa.Engine
    schema: str
    role: str


@pytest.fixture()
def pg(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pg]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    tag = uuid.uuid4().hex[:12]
    schema, role = f"sql_{tag}", f"sbor_analyst_{tag}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    monkeypatch.setenv("SBOR_ANALYST_ROLE", role)
    try:
        yield Pg(workspace, url, admin, schema, role)
    finally:
        engine = connect(url)
        drop_role(engine, role)
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def sbor(pg: Pg, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, list[str]]:
    code = main(["--home", str(pg.home), "--database-url", pg.url, *args])
    out, err = capsys.readouterr()
    return code, out, err.strip().splitlines()


@pytest.fixture()
def analyst(pg: Pg, capsys: pytest.CaptureFixture[str]) -> Pg:
    """The role made by the verb, before the forms' tables exist: they are granted as they
    appear (the first command opening the warehouse creates them)."""
    engine = connect(pg.url)
    Warehouse(engine).create()
    engine.dispose()
    code, out, err = sbor(pg, capsys, "warehouse", "analyst-role")
    assert (code, err) == (0, [])
    assert f"role {pg.role}: may read sbor's tables and views" in out
    return pg


@pytest.mark.postgres
def test_a_current_view_reads_as_the_analysts_role(analyst: Pg, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = sbor(analyst, capsys, "sql", "--csv",
                          "SELECT current_user AS who, count(*) AS n FROM current_spo_specialities_specialities")
    assert (code, err) == (0, [])
    assert out.splitlines() == ["who,n", f"{analyst.role},0"]
    code, out, _ = sbor(analyst, capsys, "sql", "--csv", "SELECT count(*) AS n FROM organisations")
    assert (code, out.splitlines()) == (0, ["n", "0"])


def _escapes(marker: Path) -> list[str]:
    return [
        f"COPY (SELECT 1) TO PROGRAM 'id > {marker}'",
        f"COPY (SELECT 1) TO '{marker}'",
        "SELECT pg_read_file('/etc/hostname')",
        "SELECT lo_import('/etc/hostname')",
        "SELECT dblink_connect('host=127.0.0.1 dbname=test user=postgres')",
        # SET ROLE inside the operator's session would fall to this one: the statement takes
        # back the session user's role and reads a file in the same breath.
        "SELECT set_config('role', 'postgres', true), "
        "query_to_xml('SELECT pg_read_file(''/etc/hostname'')', true, false, '')",
        "SELECT set_config('session_authorization', 'postgres', true)",
        "SET ROLE postgres",
        "RESET ROLE",
        "SET SESSION AUTHORIZATION postgres",
        "INSERT INTO organisations (login) VALUES ('edu770001')",
        "UPDATE organisations SET full_name = 'x'",
        "DELETE FROM organisations",
        "CREATE TABLE sneaky (a int)",
        "DROP TABLE findings",
        "SELECT 1; DROP TABLE findings",
        "COMMIT; DROP TABLE findings",
        "WITH gone AS (DELETE FROM organisations RETURNING login) SELECT * FROM gone",
    ]


@pytest.mark.postgres
def test_the_role_keeps_the_password_sbor_logs_in_with(analyst: Pg) -> None:
    """The server here trusts every local login, so check the stored SCRAM verifier itself
    (RFC 5802: StoredKey = H(HMAC(SaltedPassword, "Client Key"))) against the derived password."""
    with analyst.admin.begin() as conn:
        stored, can_login, superuser = conn.exec_driver_sql(
            f"SELECT rolpassword, rolcanlogin, rolsuper FROM pg_authid WHERE rolname = '{analyst.role}'").one()
    assert (can_login, superuser) == (True, False)
    method, rest = stored.split("$", 1)
    params, keys = rest.split("$")
    iterations, salt = params.split(":")
    stored_key = keys.split(":")[0]
    password = role_password(SECRET.encode(), analyst.role)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    assert method == "SCRAM-SHA-256"
    assert base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key


@pytest.mark.postgres
def test_every_way_out_is_refused_with_one_line(analyst: Pg, capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    marker = tmp_path / f"sbor-escape-{uuid.uuid4().hex}.txt"
    tmp_path.chmod(0o777)  # the server's own user could write here if a COPY got through
    for query in _escapes(marker):
        code, out, err = sbor(analyst, capsys, "sql", query)
        assert code == 1 and len(err) == 1 and err[0].startswith("error: "), (query, err)
        if "dblink" in query:  # the extension is absent here: refused either way
            assert "dblink_connect" in err[0]
        else:
            assert err[0].startswith("error: the query was refused: "), (query, err)
        assert out == "" and "Traceback" not in err[0]
        assert not marker.exists(), query
    with analyst.admin.begin() as conn:
        conn.exec_driver_sql(f"SET search_path = {analyst.schema}")
        assert conn.exec_driver_sql("SELECT to_regclass('findings') IS NOT NULL").scalar_one()
        assert conn.exec_driver_sql("SELECT to_regclass('sneaky') IS NULL").scalar_one()


@pytest.mark.postgres
def test_a_query_past_the_timeout_is_stopped(analyst: Pg, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SBOR_SQL_TIMEOUT", "1")
    code, _, err = sbor(analyst, capsys, "sql", "SELECT pg_sleep(30)")
    assert (code, err) == (1, ["error: the query ran longer than 1 s and was stopped (SBOR_SQL_TIMEOUT)"])


@pytest.mark.postgres
def test_sql_without_the_role_refuses_and_never_runs_as_the_operator(
        pg: Pg, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = sbor(pg, capsys, "sql", "SELECT 1")
    assert code == 1 and len(err) == 1
    assert err[0].startswith(f"error: cannot log in as the analysts' role {pg.role}")
    assert "sbor warehouse analyst-role" in err[0]


@pytest.mark.postgres
def test_a_superuser_named_as_the_role_is_refused(pg: Pg, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SBOR_ANALYST_ROLE", "postgres")
    code, _, err = sbor(pg, capsys, "warehouse", "analyst-role")
    assert (code, err) == (1, ["error: role postgres exists and was not made by sbor; "
                               "set SBOR_ANALYST_ROLE to another name"])
    # Trust authentication lets anyone log in as postgres: sbor sql still will not run as it.
    code, _, err = sbor(pg, capsys, "sql", "SELECT 1")
    assert code == 1 and len(err) == 1
    assert err[0].startswith("error: the analysts' role postgres may do more than read (a superuser")


@pytest.mark.postgres
def test_a_role_given_server_files_is_refused_then_repaired(analyst: Pg, capsys: pytest.CaptureFixture[str]) -> None:
    with analyst.admin.begin() as conn:
        conn.exec_driver_sql(f"GRANT pg_read_server_files TO {analyst.role}")
        conn.exec_driver_sql(f"ALTER ROLE {analyst.role} CREATEROLE")
    code, _, err = sbor(analyst, capsys, "sql", "SELECT pg_read_file('/etc/hostname')")
    assert code == 1 and len(err) == 1
    assert err[0].startswith(f"error: the analysts' role {analyst.role} may do more than read")
    assert sbor(analyst, capsys, "warehouse", "analyst-role")[0] == 0  # puts the role back
    code, _, err = sbor(analyst, capsys, "sql", "SELECT pg_read_file('/etc/hostname')")
    assert code == 1 and err[0].startswith("error: the query was refused: permission denied for function pg_read_file")
    with analyst.admin.begin() as conn:
        assert conn.exec_driver_sql(
            f"SELECT rolcreaterole FROM pg_roles WHERE rolname = '{analyst.role}'").scalar_one() is False
        assert conn.exec_driver_sql(f"SELECT pg_has_role('{analyst.role}', 'pg_read_server_files', "
                                    "'MEMBER')").scalar_one() is False


@pytest.mark.postgres
def test_publish_sets_up_the_role(pg: Pg, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    registry = tmp_path / "registry.csv"
    assert sbor(pg, capsys, "registry", "generate", "--size", "20", str(registry))[0] == 0
    # In a process of its own: the publish flow's tasks open the warehouse in Prefect's threads.
    published = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--home", str(pg.home), "--database-url", pg.url,
         "publish", "spo-specialities-2026", "--registry", str(registry)],
        capture_output=True, text=True, timeout=300)
    assert (published.returncode, published.stderr.count("warning")) == (0, 0), published.stderr
    code, out, err = sbor(pg, capsys, "sql", "--csv",
                          "SELECT current_user AS who, count(*) AS n FROM collections")
    assert (code, out.splitlines(), err) == (0, ["who,n", f"{pg.role},1"], [])


def test_the_verb_on_sqlite_says_no_role_is_needed(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--home", str(workspace), "warehouse", "analyst-role"])
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "error: the warehouse is SQLite: sbor sql opens its file read-only, no role is needed "
        "(see sbor --help)")



@pytest.mark.postgres
def test_a_user_that_may_not_grant_still_opens_the_warehouse(analyst: Pg, capsys: pytest.CaptureFixture[str]) -> None:
    """A worker's database user, not the tables' owner, opens the warehouse while a view lacks
    its grant: the command goes on, and the owner's next command grants the view."""
    view = "current_spo_specialities_specialities"
    worker = f"sbor_worker_{analyst.role[-12:]}"
    with analyst.admin.begin() as conn:
        conn.exec_driver_sql(f"REVOKE SELECT ON {analyst.schema}.{view} FROM {analyst.role}")
        conn.exec_driver_sql(f"CREATE ROLE {worker} LOGIN")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {analyst.schema} TO {worker}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {analyst.schema} TO {worker}")
        # No privilege at all on the view: a GRANT is then an error, not a warning.
        conn.exec_driver_sql(f"REVOKE SELECT ON {analyst.schema}.{view} FROM {worker}")
    try:
        engine = connect(str(sa.make_url(analyst.url).set(username=worker)))
        try:
            Warehouse(engine, analyst=AnalystRole(analyst.role, "0" * 64)).create(builtin_forms().values())
        finally:
            engine.dispose()
        with analyst.admin.begin() as conn:
            assert not conn.exec_driver_sql(
                f"SELECT has_table_privilege('{analyst.role}', '{analyst.schema}.{view}', 'SELECT')").scalar_one()
        # The owner's next command (this one) grants it again before the query runs.
        code, out, err = sbor(analyst, capsys, "sql", "--csv", f"SELECT count(*) AS n FROM {view}")
        assert (code, out.splitlines(), err) == (0, ["n", "0"], [])
    finally:
        engine = connect(analyst.url)
        drop_role(engine, worker)
        engine.dispose()
