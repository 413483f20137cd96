"""The cabinet's «Экспорт результатов» reads its coordinator's share in one query per sheet
(``warehouse.exports``, through COPY on PostgreSQL); its workbook is the one the schedule's path
makes from every school's rows and the whole registry, part for part, for every coordinator, on
SQLite and PostgreSQL; and COPY reads every value a cursor reads."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from flows.publish import form_for
from flows.settings import load_settings
from flows.webform import judge_draft
from flows.workspace import open_warehouse
from forms import Participants, load_collection
from forms.coordinators import Coordinator, coordinators_from_registry
from templates.coordinators import render_named_results, render_results
from tests.cabinet_site import org
from tests.conftest import COLLECTIONS_DIR
from warehouse import NewSubmission, Warehouse
from warehouse.exports import NAME, Scope, results_share
from warehouse.frames import copy_frame, read_frame

NOW = datetime(2027, 3, 10, 9, 30, tzinfo=UTC)
ANSWERS = {"2": "Иванов Иван Иванович", "3": "Заместитель директора", "4": "+74951234567",
           "5": "school@example.ru", "6": "10", "7": "5", "8": "2", "9": "На компьютерах",
           **{str(n): "Да" for n in range(10, 17)}, "17": "500", "18": "2027-03-01", "19": "=1+1 не формула"}
# Two regions, two municipalities in one; a school without a short name (the workbook shows its
# full name); a participant that sent nothing; a school of the registry that is no participant.
SCHOOLS = (org("edu770001", "77", "7701", "Школа 1"), org("edu770002", "77", "7701", "Школа 2"),
           replace(org("ksh770003", "77", "7702", ""), full_name="Кадетская школа № 3"),
           org("spo770004", "77", "7702", "Колледж 4"), org("edu500001", "50", "5001", "Школа 5"),
           org("edu500002", "50", "5002", "Школа 6"), org("edu990001", "99", "9901", "Школа 9"))
SENT = ("edu770001", "ksh770003", "spo770004", "edu500001")
OUTSIDE = "edu990001"


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.fixture()
def warehouse(database_url: str, tmp_path: Path) -> Iterator[tuple[Warehouse, str]]:
    (tmp_path / "var").mkdir(exist_ok=True)
    wh = open_warehouse(load_settings(tmp_path, database_url, env={"SBOR_SECRET": "test-secret"}))
    wh.upsert_organisations(list(SCHOOLS))
    collection = replace(load_collection(COLLECTIONS_DIR / "vpr_org_info_2027.yaml"),
                         opens=NOW - timedelta(days=5), closes=NOW + timedelta(days=5), participants=Participants())
    form = form_for(collection)
    wh.publish(collection, form, [s.login for s in SCHOOLS if s.login != OUTSIDE])
    [sheet] = form.sheets
    items = []
    for n, login in enumerate(SENT):
        answers = {"1": f"Школа {login}", **ANSWERS, "6": str(10 + n)}
        verdict = judge_draft(form, collection, login, {sheet.table: [answers]})
        assert verdict.accepted, verdict.findings
        items.append((NewSubmission(f"{n:064x}", "веб-форма", NOW - timedelta(hours=n), verdict.outcome,  # type: ignore[arg-type]
                                    collection.id, login, form.id, form.version), verdict.findings, verdict.frames))
    assert not [r for r in wh.record_many(items) if not hasattr(r, "id")]
    yield wh, collection.id
    wh.engine.dispose()


def scope_of(coord: Coordinator) -> Scope:
    return Scope() if coord.kind == "operator" else Scope(coord.region_code, coord.municipality_code)


def test_every_coordinators_export_is_the_schedules_workbook(warehouse: tuple[Warehouse, str]) -> None:
    wh, collection_id = warehouse
    row = wh.collection(collection_id)
    assert row is not None
    form = form_for(row.collection(Participants()))
    collection = row.collection(Participants(logins=tuple(sorted(wh.participants(collection_id)))))
    orgs = {o.login: o for o in wh.organisations()}
    everyone = {s.table: wh.current_rows(form, s, collection_id) for s in form.sheets}
    coordinators = coordinators_from_registry(list(orgs.values()), with_operator=True)
    assert {c.kind for c in coordinators} == {"operator", "regional", "municipal"}
    for coord in coordinators:
        visible = sorted(login for login, o in orgs.items() if coord.sees(o))
        share = results_share(wh, form, collection_id, scope_of(coord))
        assert share.takes_part == (coord.region_code != "99"), coord.id
        [frame] = share.frames.values()
        assert frame[NAME].to_list() == [orgs[login].short_name or orgs[login].full_name
                                         for login in frame["login"]]
        assert set(frame["login"]) == set(SENT) & set(visible), coord.id  # scope in the query
        old = render_results(form, collection, coord,
                             {k: f.filter(pl.col("login").is_in(visible)) for k, f in everyone.items()},
                             orgs, now=NOW)
        new = render_named_results(form, row.collection(Participants()), coord, share.frames, now=NOW)
        assert parts(new) == parts(old), coord.id


def test_a_municipal_share_holds_its_municipality_only(warehouse: tuple[Warehouse, str]) -> None:
    wh, collection_id = warehouse
    row = wh.collection(collection_id)
    assert row is not None
    form = form_for(row.collection(Participants()))
    share = results_share(wh, form, collection_id, Scope("77", "7702"))
    [frame] = share.frames.values()
    assert frame.select("login", NAME).rows() == [("ksh770003", "Кадетская школа № 3"), ("spo770004", "Колледж 4")]
    nothing_sent = results_share(wh, form, collection_id, Scope("50", "5002"))
    assert nothing_sent.takes_part and [f.height for f in nothing_sent.frames.values()] == [0]



TRICKY_TEXT = ("", None, "a,b", 'Он сказал "да"', "строка\nперенос", "\r\n", "=1+1", " пробелы ", "\\N", "NULL",
               "ё «ёлка»", "t")


def test_copy_reads_what_a_cursor_reads(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("COPY is PostgreSQL's; other databases are read by read_frame")
    engine = sa.create_engine(database_url)
    table = sa.Table("tricky", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("text", sa.Text), sa.Column("whole", sa.BigInteger), sa.Column("real", sa.Double),
                     sa.Column("day", sa.Date), sa.Column("yes", sa.Boolean))
    reals = (0.1, 12.34567, 1e-7, 1e300, -2.5, None)
    rows = [{"id": n, "text": text, "whole": (2**62 if n % 2 else -n) if n % 5 else None,
             "real": reals[n % len(reals)], "day": date(2027, 1 + n % 12, 1 + n) if n % 4 else None,
             "yes": (None, True, False)[n % 3]} for n, text in enumerate(TRICKY_TEXT)]
    schema = {"id": pl.Int64(), "text": pl.String(), "whole": pl.Int64(), "real": pl.Float64(),
              "day": pl.Date(), "yes": pl.Boolean()}
    try:
        with engine.begin() as conn:
            table.create(conn)
            conn.execute(table.insert(), rows)
            query = sa.select(table).order_by(table.c.id)
            copied = copy_frame(conn, query, schema)
            assert_frame_equal(copied, read_frame(conn, query, schema))
            assert copied["text"].to_list() == list(TRICKY_TEXT)  # '' and NULL stay apart
            assert copy_frame(conn, query.where(table.c.id < 0), schema).schema == pl.Schema(schema)
    finally:
        engine.dispose()
