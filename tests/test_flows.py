"""The publish and ingest flows end to end through Prefect's engine (a real Prefect server for
the module), on a real workspace: real templates, filled as a school would, a real SQLite warehouse."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.ingest import ingest_flow
from flows.publish import publish_flow
from flows.serve import prefect_server
from flows.settings import Settings, load_settings
from flows.workspace import open_warehouse
from forms import Collection, generate_registry
from tests.workbooks import fill

NOW = "2026-12-01T10:00"


@pytest.fixture(scope="module")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # The flows run on Prefect's own engine against a real Prefect server in a child process,
    # started here with a generous start-up wait and stopped at the end. Not Prefect's ephemeral
    # in-process server: on a busy 2-core CI machine its first start (migrating a fresh
    # database) overran its 20 s wait, and it is only stopped at interpreter exit. Not
    # prefect_test_harness either: its final drain of the events worker hung forever.
    home = tmp_path_factory.mktemp("prefect-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    served = prefect_server(load_settings(home), port, startup_timeout=300)
    with served as server, temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


@pytest.fixture()
def settings(workspace: Path) -> Settings:
    s = load_settings(workspace, now=NOW)
    open_warehouse(s).upsert_organisations(generate_registry(80, seed=7))
    return s


def _rows() -> list[dict[str, object]]:
    # Manual 001, Рис. 23: the first two rows as the school typed them.
    return [
        {"1": "38.02.01 Экономика и бухгалтерский учет (по отраслям)", "1.1": "Математика",
         "1.2": "Математика", "2": 1, "3": 24, "3.1": 24, "3.2": 0, "4": 25, "5": 25, "6": "Нет"},
        {"1": "38.02.05 Товароведение и экспертиза качества потребительских товаров",
         "1.1": "Математика", "1.2": "Биология", "2": 1, "3": 24, "3.1": 24, "3.2": 0, "4": 25,
         "5": 25, "6": "Нет"},
    ]


@pytest.mark.parametrize("lanes", [False, True], ids=["one process", "two lanes"])
def test_publish_then_ingest_through_prefect(
    prefect_harness: None, settings: Settings, collections_by_form: dict[str, Collection], lanes: bool
) -> None:
    if lanes:  # every batch one file, each a task handed to a free lane (flows/lanes.py)
        settings = replace(settings, workers=2, parallel_from=2, batch_size=1)
    collection = collections_by_form["spo_specialities"]
    published = publish_flow(settings, collection)
    spo = sorted(p.stem for p in published.directory.glob("*.xlsx"))
    assert published.participants == len(spo) >= 3

    good, bad, twice = spo[:3]
    template = {login: (published.directory / f"{login}.xlsx").read_bytes() for login in spo[:3]}
    broken = _rows()
    broken[1]["3"] = 30  # 24 + 0 is not 30
    for login, rows, name in ((good, _rows(), "отчет.xlsx"), (bad, broken, "отчет.xlsx"),
                              (twice, _rows(), "первый.xlsx")):
        (settings.inbox / login).mkdir(parents=True, exist_ok=True)
        (settings.inbox / login / name).write_bytes(fill(template[login], {"Специальности": rows}))
    (settings.inbox / twice / "второй.xlsx").write_bytes((settings.inbox / twice / "первый.xlsx").read_bytes())

    outcomes = {(o.login, o.file): o for o in ingest_flow(settings)}
    assert {k: o.outcome for k, o in outcomes.items()} == {
        (good, "отчет.xlsx"): "accepted",
        (bad, "отчет.xlsx"): "rejected",
        (twice, "первый.xlsx"): "accepted",
        (twice, "второй.xlsx"): "duplicate",
    } or {k: o.outcome for k, o in outcomes.items()} == {
        (good, "отчет.xlsx"): "accepted",
        (bad, "отчет.xlsx"): "rejected",
        (twice, "второй.xlsx"): "accepted",
        (twice, "первый.xlsx"): "duplicate",
    }
    rejected = outcomes[(bad, "отчет.xlsx")]
    [error] = [f for f in rejected.findings if f.severity == "error"]
    assert (error.worksheet, error.cell, error.field) == ("Специальности", "E6", "3")

    # The school with an error gets its own workbook back, the cell marked, an «Ошибки» sheet.
    assert rejected.feedback is not None
    wb = load_workbook(io.BytesIO(Path(rejected.feedback).read_bytes()))
    assert wb.sheetnames[0] == "Ошибки"
    assert wb["Специальности"]["E6"].comment is not None
    assert wb["Специальности"]["E6"].value == 30

    # Nothing of the rejected file is loaded; the accepted ones are current; the inbox is empty.
    wh = open_warehouse(settings)
    _, rows = wh.sql("SELECT login, count(*) FROM current_spo_specialities_specialities GROUP BY login ORDER BY login")
    assert rows == sorted([(good, 2), (twice, 2)])
    assert not any(p.is_file() for p in settings.inbox.rglob("*"))
    assert not any(p.is_file() for p in settings.processing.rglob("*"))
    _, archived = wh.sql("SELECT count(*) FROM submissions")
    assert archived == [(3,)]
    assert len(list(settings.archive.rglob("*.bin"))) == 3


def test_scheduled_status_flow_writes_scoped_workbooks(
    prefect_harness: None, settings: Settings, collections_by_form: dict[str, Collection]
) -> None:
    from python_calamine import CalamineWorkbook

    from flows.report import scheduled_status_flow

    collection = collections_by_form["spo_specialities"]
    published = publish_flow(settings, collection)
    written = scheduled_status_flow(str(settings.home), settings.database_url)
    assert written > 0

    wh = open_warehouse(settings)
    region_of = {o.login: o.region_code for o in wh.organisations()}
    spo_regions = {region_of[p.stem] for p in published.directory.glob("*.xlsx")}
    assert len(spo_regions) >= 2, "the registry must spread spo schools over two regions or more"
    for region in spo_regions:
        path = settings.reports_dir / f"reg{region}" / f"status_{collection.id}.xlsx"
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Участники").to_python()
        logins = {str(r[0]) for r in rows if str(r[0])[:3] in ("edu", "ksh", "spo")}
        assert logins, f"reg{region} got an empty participant list"
        # No school of another region leaks into a regional coordinator's workbook.
        assert {region_of[login] for login in logins} == {region}
