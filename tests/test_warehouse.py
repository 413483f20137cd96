"""The warehouse on real SQLite and real PostgreSQL: schema, registry, publication, loading in
one transaction, history, duplicates, views, statuses and read-only SQL.

PostgreSQL runs when SBOR_TEST_POSTGRES_URL names it; each test gets a schema of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal
from sqlalchemy.engine import Engine

from forms import Collection, Finding, Form, Organisation, Participants, Sheet, builtin_forms
from forms.catalogue import render
from forms.findings import finding
from forms.status import Status, status_of
from warehouse import (
    AnalystRole,
    DatabaseUnavailable,
    LoadError,
    NewSubmission,
    Outcome,
    ReadOnlyViolation,
    SubmissionRow,
    Warehouse,
    WarehouseError,
    connect,
    drop_role,
    frame_schema,
    role_password,
    sqlite_url,
    table_name,
    view_name,
)
from warehouse.engine import guarded, reader
from warehouse.history import own_submission

PG_ENV = "SBOR_TEST_POSTGRES_URL"
FORMS = builtin_forms()
SPO = FORMS["spo_specialities"]
SHEET = SPO.sheets[0]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = connect(sqlite_url(tmp_path / "sbor.db"))
        yield eng
        eng.dispose()
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    schema = f"wh_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    eng = connect(f"{base}{sep}options={quote(f'-csearch_path={schema}')}")
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture()
def wh(engine: Engine) -> Warehouse:
    w = Warehouse(engine)
    w.create(FORMS.values())
    return w


def org(login: str, municipality: str = "01") -> Organisation:
    region = login[3:5]
    return Organisation(login=login, full_name=f"ГБПОУ «Колледж {login}»",
                        short_name=f"Колледж {login}", region_code=region,
                        region_name=f"Регион {region}",
                        municipality_code=f"{region}{municipality}",
                        municipality_name=f"Район {municipality}", kind="spo",
                        specialities=("38.02.01", "09.02.07"))


ORGS = [org("spo770001"), org("spo770002"), org("spo770003", "02"), org("spo500001")]


def collection(form: Form = SPO, cid: str = "spo-2026") -> Collection:
    return Collection(id=cid, title="Сведения СПО. 2026", section="ВПР СПО", form_id=form.id,
                      opens=datetime(2026, 11, 1, 12, tzinfo=UTC),
                      closes=datetime(2026, 12, 25, 15, tzinfo=UTC),
                      participants=Participants(kinds=("spo",)), info="Уважаемые коллеги!",
                      files=("Порядок.pdf",), period_start=date(2027, 3, 1),
                      period_end=date(2027, 4, 30))


@pytest.fixture()
def published(wh: Warehouse) -> Warehouse:
    wh.upsert_organisations(ORGS)
    wh.publish(collection(), SPO, [o.login for o in ORGS])
    return wh


def sample_rows(sheet: Sheet, form: Form, n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` typed rows a validator could have produced, with a null in every optional field
    of the last row."""
    data: dict[str, list[object]] = {"row_number": [5 + i for i in range(n)]}
    for f in sheet.fields:
        values: list[object] = []
        for i in range(n):
            k = i + seed
            if f.type in ("text",):
                # What COPY and CSV-ish paths trip on: tab, newline, backslash, quotes.
                v: object = f"Текст «{k}» =A1\t\\N\n\"'"
            elif f.type == "choice":
                choices = form.choices_for(f)
                v = choices[k % len(choices)]
            elif f.type == "integer":
                v = 10 * k + 3
            elif f.type == "decimal":
                v = k + 0.125
            elif f.type == "date":
                v = date(2027, 3, 1) + timedelta(days=k)
            else:
                v = k % 2 == 0
            values.append(None if (i == n - 1 and n > 1 and not f.required) else v)
        data[f.name] = values
    return pl.DataFrame(data, schema=frame_schema(sheet))


def submission(sha: str, login: str = "spo770001", *, at: datetime = T0,
               outcome: Outcome = "accepted", cid: str = "spo-2026",
               form: Form = SPO) -> NewSubmission:
    return NewSubmission(sha256=sha * 64 if len(sha) == 1 else sha, file_name=f"{login}.xlsx",
                         received_at=at, outcome=outcome,
                         collection_id=cid, login=login, form_id=form.id,
                         form_version=form.version, archive_path=f"archive/{sha}.xlsx")


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


# -- schema -------------------------------------------------------------------------------------

def test_create_twice_is_idempotent_and_makes_every_table_and_view(engine: Engine) -> None:
    wh = Warehouse(engine)
    wh.create(FORMS.values())
    wh.create(FORMS.values())
    Warehouse(engine).create(FORMS.values())  # another process, same database
    inspector = sa.inspect(engine)
    tables = set(inspector.get_table_names())
    assert {"organisations", "collections", "participants", "submissions", "findings",
            "current_submissions"} <= tables
    for form in FORMS.values():
        for sheet in form.sheets:
            assert table_name(form, sheet) in tables
            assert view_name(form, sheet) in inspector.get_view_names()


def test_create_restores_a_view_that_was_changed(wh: Warehouse, engine: Engine) -> None:
    name = view_name(SPO, SHEET)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP VIEW {name}")
        conn.exec_driver_sql(f"CREATE VIEW {name} AS SELECT 1 AS broken")
    wh.create()
    columns = [c["name"] for c in sa.inspect(engine).get_columns(name)]
    assert columns == ["collection_id", "login", "submission_id", "received_at", "row_number",
                       *(f.name for f in SHEET.fields)]



def older_database(engine: Engine, *missing: str) -> int:
    """A published warehouse as older code left it: without the ``table.column``s ``missing``
    (dropped here, as that code never made them), holding one unreadable file, old.xlsx, whose
    id is returned."""
    older = Warehouse(engine)
    older.create(FORMS.values())
    older.upsert_organisations(ORGS)
    older.publish(collection(), SPO, [o.login for o in ORGS])
    with engine.begin() as conn:
        for table, column in (m.split(".") for m in missing):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        return int(conn.exec_driver_sql(
            "INSERT INTO submissions (sha256, file_name, received_at, outcome, error_count, warning_count, "
            "processed_at) VALUES ('" + "e" * 64 + "', 'old.xlsx', '2026-11-02 09:00:00', 'unreadable', 1, 0, "
            "'2026-11-02 09:00:00') RETURNING id").scalar_one())


def test_a_database_from_before_an_index_gains_it(engine: Engine) -> None:
    """An index added to a fixed table after databases holding it were made (the operator's
    counts read ix_organisations_login_area) is created by the next create(), once."""
    older_database(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_organisations_login_area")
    assert "ix_organisations_login_area" not in {ix["name"] for ix in sa.inspect(engine).get_indexes("organisations")}
    wh = Warehouse(engine)
    wh.create(FORMS.values())
    wh.create(FORMS.values())  # idempotent: the index is there now
    assert "ix_organisations_login_area" in {ix["name"] for ix in sa.inspect(engine).get_indexes("organisations")}
    assert [o.login for o in wh.organisations()] == sorted(o.login for o in ORGS)


def test_a_database_with_a_replaced_index_loses_it_and_gains_its_successor(engine: Engine) -> None:
    """ix_organisations_place replaced ix_organisations_area: a database made before has the old
    one dropped (writes stop keeping it) and the new one made, by the next create()."""
    older_database(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_organisations_place")
        conn.exec_driver_sql("CREATE INDEX ix_organisations_area ON organisations (region_code, municipality_code)")
    wh = Warehouse(engine)
    wh.create(FORMS.values())
    names = {ix["name"] for ix in sa.inspect(engine).get_indexes("organisations")}
    assert "ix_organisations_place" in names and "ix_organisations_area" not in names
    wh.create(FORMS.values())  # idempotent
    assert [o.login for o in wh.organisations()] == sorted(o.login for o in ORGS)


def test_a_database_from_before_saved_by_gains_the_column(engine: Engine,
                                                         request: pytest.FixtureRequest) -> None:
    """A warehouse made before submissions had ``saved_by`` (the column dropped here, as the
    older code never made it) gets it from the next create(), keeps its rows, and records and
    shows the program that saved each file."""
    older_database(engine, "submissions.saved_by")
    assert "saved_by" not in {c["name"] for c in sa.inspect(engine).get_columns("submissions")}
    wh = Warehouse(engine)
    wh.create(FORMS.values())
    wh.create(FORMS.values())  # idempotent: the column is there now
    row = wh.record(replace(submission("a", outcome="rejected"), saved_by="LibreOffice 7.4.7.2"))
    assert row.saved_by == "LibreOffice 7.4.7.2"
    assert wh.history("spo-2026", "spo770001")[0].saved_by == "LibreOffice 7.4.7.2"
    if engine.dialect.name == "postgresql":  # sql() logs in as the analysts' role there
        name = f"sbor_analyst_{uuid.uuid4().hex[:12]}"
        wh.analyst = AnalystRole(name, role_password(b"test", name))
        request.addfinalizer(lambda: drop_role(engine, name))
        wh.ensure_analyst_role()
    assert wh.sql("SELECT file_name, saved_by FROM submissions ORDER BY id") == (
        ["file_name", "saved_by"], [("old.xlsx", None), ("spo770001.xlsx", "LibreOffice 7.4.7.2")])


def test_sqlite_connection_is_tuned(tmp_path: Path) -> None:
    eng = connect(sqlite_url(tmp_path / "sbor.db"))
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    eng.dispose()


def test_a_reader_sees_each_write_as_it_commits_and_leaves_no_transaction(engine: Engine) -> None:
    """A cabinet page reads through one ``reader`` while it writes through ``guarded`` (a star
    toggled, then the card read back): the read after the write sees it, and the reader holds
    no transaction open (SQLite: no snapshot kept; the pool gets its connection back as it was)."""
    with guarded(engine, write=True) as conn:
        conn.exec_driver_sql("CREATE TABLE reader_probe (x INTEGER)")
    with reader(engine) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM reader_probe").scalar() == 0
        with guarded(engine, write=True) as writer:
            writer.exec_driver_sql("INSERT INTO reader_probe VALUES (1)")
        assert conn.exec_driver_sql("SELECT count(*) FROM reader_probe").scalar() == 1
        driver = conn.connection.dbapi_connection
        # sqlite3 says so itself; psycopg's status 0 is IDLE (no transaction open).
        assert not (driver.in_transaction if engine.dialect.name == "sqlite"  # type: ignore[union-attr]
                    else driver.info.transaction_status)  # type: ignore[union-attr]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:  # still our own BEGIN, not the driver's
            assert conn.connection.dbapi_connection.isolation_level is None  # type: ignore[union-attr]


def test_unreachable_databases_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable) as pg:
        connect("postgresql+psycopg://postgres@127.0.0.1:1/test")
    assert "is running at 127.0.0.1:1" in str(pg.value)
    assert pg.value.url == "postgresql+psycopg://postgres@127.0.0.1:1/test"
    with pytest.raises(DatabaseUnavailable) as lite:
        connect(sqlite_url(tmp_path / "no" / "such" / "folder" / "sbor.db"))
    assert "Check that the folder of" in str(lite.value)
    with pytest.raises(WarehouseError, match="not a database URL"):
        connect("not a url")


# -- registry and publication -------------------------------------------------------------------

def test_upsert_organisations_inserts_then_updates(wh: Warehouse) -> None:
    assert wh.upsert_organisations(ORGS) == 4
    renamed = replace(ORGS[0], short_name="Новое имя", specialities=())
    assert wh.upsert_organisations([replace(ORGS[0], full_name="промежуточное"), renamed]) == 2
    got = {o.login: o for o in wh.organisations()}
    assert len(got) == 4
    assert got["spo770001"] == renamed
    assert got["spo770002"] == ORGS[1]
    assert [o.login for o in wh.organisations(["spo500001", "spo999999"])] == ["spo500001"]


def test_publish_registers_the_collection_and_replaces_participants(wh: Warehouse) -> None:
    wh.upsert_organisations(ORGS)
    c = collection()
    wh.publish(c, SPO, [o.login for o in ORGS])
    [row] = wh.collections()
    assert (row.id, row.title, row.section, row.form_id, row.form_version) == (
        c.id, c.title, c.section, SPO.id, SPO.version)
    assert row.opens == c.opens and row.opens.tzinfo is not None
    assert row.closes == c.closes
    assert (row.period_start, row.period_end, row.info, row.files) == (
        c.period_start, c.period_end, c.info, c.files)
    assert wh.participants(c.id) == {o.login for o in ORGS}
    wh.publish(replace(c, title="Новое название"), SPO, ["spo770001"])
    assert wh.participants(c.id) == {"spo770001"}
    wh.publish(c, SPO, ["spo770001", "spo500001", "spo500001"])
    assert wh.participants(c.id) == {"spo770001", "spo500001"}
    assert [r.title for r in wh.collections()] == [c.title]
    assert wh.collection(c.id) == wh.collections()[0]
    assert wh.collection("no-such-collection") is None


def test_publish_refuses_unknown_logins_and_writes_nothing(wh: Warehouse) -> None:
    wh.upsert_organisations(ORGS)
    with pytest.raises(WarehouseError, match=r"1 participant\(s\) are not in the registry "
                                             r"\(spo990001\)"):
        wh.publish(collection(), SPO, ["spo770001", "spo990001"])
    assert wh.collections() == []
    with pytest.raises(WarehouseError, match="uses form spo_specialities, not vpr_org_info"):
        wh.publish(collection(), FORMS["vpr_org_info"], ["spo770001"])


# -- loading ------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
def test_every_form_round_trips_typed_through_its_tables(engine: Engine, form: Form) -> None:
    wh = Warehouse(engine)
    wh.create([form])
    wh.upsert_organisations(ORGS)
    wh.publish(collection(form, cid="c1"), form, ["spo770001"])
    rows = {s.table: sample_rows(s, form, 1 if s.kind == "card" else 4) for s in form.sheets}
    row = wh.record(submission("a", cid="c1", form=form), [], rows)
    for sheet in form.sheets:
        got = wh.current_rows(form, sheet, "c1")
        assert got.columns[:4] == ["collection_id", "login", "submission_id", "received_at"]
        assert got["submission_id"].to_list() == [row.id] * rows[sheet.table].height
        assert_frame_equal(got.select(rows[sheet.table].columns), rows[sheet.table])


def test_accepted_rows_show_in_the_view_typed(published: Warehouse, engine: Engine) -> None:
    rows = sample_rows(SHEET, SPO, 3)
    row = published.record(submission("a"), [], {"specialities": rows})
    assert row.accepted and row.id > 0
    view = sa.Table(view_name(SPO, SHEET), sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        got = conn.execute(sa.select(view).order_by(view.c.row_number)).mappings().all()
    assert [r["login"] for r in got] == ["spo770001"] * 3
    assert [r["row_number"] for r in got] == [5, 6, 7]
    assert [r["students"] for r in got] == rows["students"].to_list()
    assert [r["entrance_exams"] for r in got] == [True, False, True]
    assert [r["speciality"] for r in got] == rows["speciality"].to_list()


def test_a_later_accepted_file_becomes_current_and_the_earlier_stays_in_history(
        published: Warehouse, engine: Engine) -> None:
    first = published.record(submission("a"), [], {"specialities": sample_rows(SHEET, SPO, 3)})
    second_rows = sample_rows(SHEET, SPO, 2, seed=7)
    second = published.record(submission("b", at=T0 + timedelta(hours=1)), [],
                              {"specialities": second_rows})
    assert published.current("spo-2026", "spo770001") == second
    assert [s.id for s in published.history("spo-2026", "spo770001")] == [first.id, second.id]
    assert count(engine, table_name(SPO, SHEET)) == 5  # both versions kept
    current = published.current_rows(SPO, SHEET, "spo-2026")
    assert_frame_equal(current.select(second_rows.columns), second_rows)


def test_an_older_file_processed_late_does_not_replace_the_newer(published: Warehouse) -> None:
    newer = published.record(submission("b", at=T0 + timedelta(hours=1)), [],
                             {"specialities": sample_rows(SHEET, SPO, 2)})
    published.record(submission("a", at=T0), [], {"specialities": sample_rows(SHEET, SPO, 2)})
    assert published.current("spo-2026", "spo770001") == newer


def test_a_rejected_later_file_does_not_replace_the_current(published: Warehouse) -> None:
    accepted = published.record(submission("a"), [], {"specialities": sample_rows(SHEET, SPO, 2)})
    error = Finding("not-a-number", "error", "Лист «Специальности», ячейка E5 (графа 3): …",
                    worksheet="Специальности", cell="E5", field="3", value="много")
    rejected = published.record(submission("b", at=T0 + timedelta(hours=1), outcome="rejected"),
                                [error], None)
    assert (rejected.outcome, rejected.error_count) == ("rejected", 1)
    assert published.current("spo-2026", "spo770001") == accepted
    assert published.current_rows(SPO, SHEET, "spo-2026").height == 2


def test_the_same_file_twice_is_recorded_once(published: Warehouse, engine: Engine) -> None:
    rows = {"specialities": sample_rows(SHEET, SPO, 3)}
    first = published.record(submission("a"), [], rows)
    again = published.record(replace(submission("a"), file_name="копия.xlsx",
                                     received_at=T0 + timedelta(days=1)), [], rows)
    assert again == first
    assert published.find_sha("a" * 64) == first
    assert published.find_sha("f" * 64) is None
    assert count(engine, "submissions") == 1
    assert count(engine, table_name(SPO, SHEET)) == 3


def test_findings_are_stored_with_their_place(published: Warehouse) -> None:
    findings = [
        Finding("rule:students-sum", "error", "Лист «Специальности», ячейка E5 (графа 3): сумма",
                worksheet="Специальности", cell="E5", field="3", value="34"),
        Finding("decimal-comma", "note", "Лист «Специальности», ячейка F6: запятая",
                worksheet="Специальности", cell="F6", field="3.1", value="12,5"),
        Finding("not-xlsx", "error", "Файл не является книгой Excel (.xlsx)."),
        Finding("rule:applications-vs-quota", "warning", "заявлений меньше"),
    ]
    row = published.record(submission("a", outcome="rejected"), findings, None)
    assert (row.error_count, row.warning_count) == (2, 1)
    assert published.findings(row.id) == [replace(f, file="spo770001.xlsx") for f in findings]


def test_a_finding_read_back_keeps_its_code_and_params_and_renders_the_same_text(published: Warehouse) -> None:
    """A finding from the catalogue is stored with its wording and parameters beside its text;
    read back (by the store and by the school's own history) it is the same finding, and its
    text, rendered again from them, is the one the school was given."""
    where = "Лист «Специальности», ячейка E5 (графа 3)"
    file = "spo770001.xlsx"
    findings = [
        finding("not-a-number", file=file, worksheet="Специальности", cell="E5", field="3", value="много",
                where=where, v="много", n=None),
        finding("window-closed", file=file, title="Сведения СПО. 2026", closes="25.12.2026 18:00 (МСК)"),
        finding("duplicate", file=file, wording="other", when="02.11.2026 12:00"),
        finding("too-many-findings", file=file, shown=300, total=1810),
        finding("rule:students-sum", file=file, severity="warning", worksheet="Специальности", cell="E5",
                field="3", value="34", where=where, text="сумма граф 3.1 и 3.2 (30) не равна графе 3 (34)."),
    ]
    row = published.record(submission("a", outcome="rejected"), findings, None)
    sent = own_submission(published.engine, published.fixed, "spo770001", submission_id=row.id)
    assert sent is not None
    for read in (published.findings(row.id), list(sent.findings)):
        assert read == findings
        assert [(f.code, f.wording, dict(f.params)) for f in read] == [
            (f.code, f.wording, dict(f.params)) for f in findings]
        assert [f.message for f in read] == [f.message for f in findings]
        assert [render(f.code, f.wording, f.file, f.params) for f in read] == [f.message for f in findings]
    assert findings[0].message == f"{where}: «много» — не число. Введите число цифрами, например 25 или 12,5."
    assert findings[2].message.startswith("Файл «spo770001.xlsx» уже был получен ранее, 02.11.2026 12:00, "
                                          "от другой организации")
    # Analysts see the text and what it was made from.
    with published.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT code, message, wording, params FROM findings ORDER BY id").all()
    assert tuple(stored[1]) == ("window-closed", findings[1].message, "",
                                '{"title": "Сведения СПО. 2026", "closes": "25.12.2026 18:00 (МСК)"}')
    # A code a later catalogue no longer knows still reads as the school was told.
    with published.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE findings SET code = 'retired-code' WHERE code = 'window-closed'")
    assert published.findings(row.id)[1].message == findings[1].message


def test_findings_stored_before_params_were_kept_read_back_as_their_text(engine: Engine) -> None:
    """A warehouse made before findings kept their parameters gains the two columns from the
    next create(); its findings read back with the text they were stored with."""
    old_id = older_database(engine, "findings.params", "findings.wording")
    assert "params" not in {c["name"] for c in sa.inspect(engine).get_columns("findings")}
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO findings (submission_id, severity, code, message) VALUES "
            f"({old_id}, 'error', 'truncated', 'Файл «old.xlsx» не принят: файл повреждён.')")
    wh = Warehouse(engine)
    wh.create(FORMS.values())
    wh.create(FORMS.values())  # idempotent: the columns are there now
    assert wh.findings(old_id) == [Finding("truncated", "error", "Файл «old.xlsx» не принят: файл повреждён.",
                                           "old.xlsx")]
    new = finding("truncated", file="spo770001.xlsx", detail="")
    row = wh.record(submission("a", outcome="unreadable"), [new], None)
    assert wh.findings(row.id) == [new]


def test_a_failing_insert_leaves_nothing_of_the_submission(published: Warehouse,
                                                           engine: Engine) -> None:
    warn = [Finding("rule:applications-vs-quota", "warning", "заявлений меньше")]
    wrong = sample_rows(SHEET, SPO, 2).rename({"students": "pupils"})
    with pytest.raises(LoadError, match="unknown columns \\['pupils'\\]") as err:
        published.record(submission("a"), warn, {"specialities": wrong})
    assert err.value.sha256 == "a" * 64
    # The database itself refuses: two rows with one row number.
    twice = pl.concat([sample_rows(SHEET, SPO, 1), sample_rows(SHEET, SPO, 1)])
    with pytest.raises(LoadError, match="not recorded"):
        published.record(submission("b"), warn, {"specialities": twice})
    assert published.find_sha("a" * 64) is None and published.find_sha("b" * 64) is None
    for table in ("submissions", "findings", "current_submissions", table_name(SPO, SHEET)):
        assert count(engine, table) == 0, table
    published.record(submission("a"), warn, {"specialities": sample_rows(SHEET, SPO, 2)})
    assert count(engine, "submissions") == 1  # the connection was left clean


def test_record_many_keeps_a_bad_item_from_blocking_the_rest(published: Warehouse) -> None:
    good = sample_rows(SHEET, SPO, 2)
    bad = pl.concat([sample_rows(SHEET, SPO, 1)] * 2)
    cases = [("a", "spo770001", good), ("b", "spo770002", bad), ("c", "spo770003", good),
             ("a", "spo770001", good)]
    items = [(submission(c, login=login, at=T0 + timedelta(minutes=i)), [], {"specialities": r})
             for i, (c, login, r) in enumerate(cases)]
    results = published.record_many(items, commit_every=2)
    assert isinstance(results[0], SubmissionRow) and isinstance(results[2], SubmissionRow)
    assert isinstance(results[1], LoadError) and results[1].sha256 == "b" * 64
    assert results[3] == results[0]  # the same file again, in the same batch
    assert published.current("spo-2026", "spo770002") is None
    assert published.current("spo-2026", "spo770003") == results[2]


def test_concurrent_workers_leave_the_newest_file_current(published: Warehouse,
                                                         engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    rows = {"specialities": sample_rows(SHEET, SPO, 3)}

    def worker(k: int) -> None:
        own = connect(url)  # a worker process of its own, as Prefect would run it
        try:
            w = Warehouse(own, [SPO])
            for i in range(5):
                # Interleaved times: every worker holds some of the newest files.
                at = T0 + timedelta(minutes=4 * i + k)
                w.record(submission(f"{k}{i}".ljust(64, "0"), at=at), [], rows)
        finally:
            own.dispose()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    newest = T0 + timedelta(minutes=4 * 4 + 3)
    assert count(engine, "submissions") == 20
    current = published.current("spo-2026", "spo770001")
    assert current is not None and current.received_at == newest
    assert published.current_rows(SPO, SHEET, "spo-2026").height == 3


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="received_at is a naive datetime"):
        replace(submission("a"), received_at=datetime(2026, 11, 2, 9, 0))


# -- coordinators and analysts ------------------------------------------------------------------

def test_statuses_count_files_and_dates_per_participant(published: Warehouse) -> None:
    rows = {"specialities": sample_rows(SHEET, SPO, 2)}
    e = [Finding("x", "error", "ошибка"), Finding("y", "error", "ошибка")]
    # spo770001: rejected, then accepted, then rejected again (the last file has errors).
    published.record(submission("a", at=T0, outcome="rejected"), e, None)
    published.record(submission("b", at=T0 + timedelta(days=1)), [], rows)
    published.record(submission("c", at=T0 + timedelta(days=2), outcome="rejected"), e[:1], None)
    # spo770002: only a rejected file; spo770003 and spo500001: nothing.
    published.record(submission("d", "spo770002", at=T0 + timedelta(hours=5),
                                outcome="unreadable"), e, None)
    # A file of another collection does not count.
    published.record(submission("e", "spo770003", cid="other"), [], None)
    by_login = {r.login: r for r in published.statuses("spo-2026")}
    assert list(by_login) == ["spo500001", "spo770001", "spo770002", "spo770003"]
    one = by_login["spo770001"]
    assert (one.files, one.accepted, one.last_errors, one.last_outcome) == (3, 1, 1, "rejected")
    assert one.first_received_at == T0
    assert one.first_received_at.utcoffset() == timedelta(0)  # type: ignore[union-attr]
    assert one.last_accepted_at == T0 + timedelta(days=1)
    assert one.last_received_at == T0 + timedelta(days=2)
    assert (one.full_name, one.municipality_name) == ("ГБПОУ «Колледж spo770001»", "Район 01")
    two = by_login["spo770002"]
    assert (two.files, two.accepted, two.last_errors, two.last_accepted_at) == (1, 0, 2, None)
    three = by_login["spo770003"]
    assert (three.files, three.accepted, three.first_received_at, three.last_errors) == (
        0, 0, None, None)
    assert [status_of(by_login[k], False) for k in by_login] == [
        Status.NOT_STARTED, Status.SUBMITTED, Status.IN_WORK, Status.NOT_STARTED]
    assert [status_of(by_login[k], True) for k in by_login] == [
        Status.NEVER_STARTED, Status.SUBMITTED, Status.NOT_SUBMITTED, Status.NEVER_STARTED]
    assert [r.login for r in published.statuses("spo-2026", region="77")] == [
        "spo770001", "spo770002", "spo770003"]
    assert [r.login for r in published.statuses("spo-2026", region="77",
                                                municipality="7702")] == ["spo770003"]


def test_current_rows_are_scoped_by_login_region_and_municipality(published: Warehouse) -> None:
    for i, o in enumerate(ORGS):
        published.record(submission("abcd"[i], o.login), [],
                         {"specialities": sample_rows(SHEET, SPO, 2, seed=i)})
    every = published.current_rows(SPO, SHEET, "spo-2026")
    assert every["login"].unique(maintain_order=True).to_list() == sorted(o.login for o in ORGS)
    assert published.current_rows(SPO, SHEET, "spo-2026", region="50")["login"].to_list() == [
        "spo500001"] * 2
    assert published.current_rows(SPO, SHEET, "spo-2026", region="77",
                                  municipality="7702")["login"].to_list() == ["spo770003"] * 2
    chosen = published.current_rows(SPO, SHEET, "spo-2026", logins=["spo770002", "spo770001"])
    assert chosen.select("login", "row_number").rows() == [
        ("spo770001", 5), ("spo770001", 6), ("spo770002", 5), ("spo770002", 6)]
    empty = published.current_rows(SPO, SHEET, "no-such-collection", logins=[])
    assert empty.height == 0 and empty.schema["students"] == pl.Int64


def test_sql_on_sqlite_refuses_to_attach_files(published: Warehouse, tmp_path: Path) -> None:
    if published.engine.dialect.name != "sqlite":
        pytest.skip("ATTACH is SQLite's")
    other = tmp_path / "elsewhere.db"
    with pytest.raises(ReadOnlyViolation, match="not authorized"):
        published.sql(f"ATTACH DATABASE '{other}' AS elsewhere")
    assert not other.exists()


def test_sql_reads_and_refuses_to_write(published: Warehouse, engine: Engine,
                                        request: pytest.FixtureRequest) -> None:
    if engine.dialect.name == "postgresql":  # sql() logs in as the analysts' role there
        name = f"sbor_analyst_{uuid.uuid4().hex[:12]}"
        published.analyst = AnalystRole(name, role_password(b"test", name))
        request.addfinalizer(lambda: drop_role(engine, name))
        published.ensure_analyst_role()
    published.record(submission("a"), [], {"specialities": sample_rows(SHEET, SPO, 2)})
    columns, rows = published.sql(
        f"SELECT login, row_number, students FROM {view_name(SPO, SHEET)} ORDER BY row_number")
    assert columns == ["login", "row_number", "students"]
    assert rows == [("spo770001", 5, 3), ("spo770001", 6, 13)]
    assert published.sql("SELECT login FROM organisations ORDER BY login", max_rows=2)[1] == [
        ("spo500001",), ("spo770001",)]
    for query in ("DELETE FROM organisations",
                  "INSERT INTO organisations (login) VALUES ('x')",
                  "DROP TABLE findings",
                  "UPDATE submissions SET outcome = 'rejected'",
                  "SELECT 1; DELETE FROM organisations",
                  "COMMIT; DELETE FROM organisations",
                  "CREATE TABLE sneaky (a int)"):
        with pytest.raises(ReadOnlyViolation):
            published.sql(query)
    with pytest.raises(WarehouseError, match="the query failed"):
        published.sql("SELECT * FROM no_such_table")
    assert count(engine, "organisations") == 4
    assert count(engine, "submissions") == 1
