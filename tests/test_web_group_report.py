"""The group report across collections in the cabinet (issue 14): the operator marks which
collections may be grouped, a coordinator picks among those it sees («только открытые» / «все»)
and gets the workbook as every background report: a Prefect flow run, the bell, «Мои отчёты»."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from flows.publish import form_for
from flows.workspace import open_warehouse
from forms import load_collection
from tests.cabinet_site import Site, close, token
from tests.conftest import COLLECTIONS_DIR
from tests.monitor_site import COLLECTION_ID, build_monitored_site, prefect_api, wait_finished  # noqa: F401

pytestmark = pytest.mark.usefixtures("prefect_api")
CLOSED_ID = "vpr-org-info-2026"  # closed a month ago, every school of the site a participant
UNMARKED_ID = "vpr-org-info-2028"  # open, never marked by the operator
REGION_77 = {"edu770001", "edu770002", "edu770003", "edu770005", "edu770006"}
OPEN_COLUMN = f"Информация об ОО для проведения ВПР 2027. Для образовательных организаций (ID {COLLECTION_ID})"


@pytest.fixture()
def gsite(tmp_path: Path) -> Iterator[Site]:
    built = build_monitored_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}")
    wh = open_warehouse(built.settings)
    now = datetime.now(UTC)
    base = load_collection(COLLECTIONS_DIR / "vpr_org_info_2027.yaml")
    logins = sorted(wh.participants(COLLECTION_ID))
    for cid, title, opens, closes in (
            (CLOSED_ID, "Информация об ОО 2026", now - timedelta(days=60), now - timedelta(days=30)),
            (UNMARKED_ID, "Информация об ОО 2028", now - timedelta(days=1), now + timedelta(days=30))):
        extra = replace(base, id=cid, title=title, opens=opens, closes=closes)
        wh.publish(extra, form_for(extra), logins)
    wh.engine.dispose()
    yield built
    close(built)


def mark(operator: TestClient, collection_id: str, on: bool = True) -> None:
    response = operator.post(f"/operator/collections/{collection_id}/groupable",
                             data={"csrf": token(operator), "groupable": "true" if on else "false"})
    assert response.status_code == 303, response.text


def ask_group(client: TestClient, which: str, collections: tuple[str, ...] = ()) -> int:
    response = client.post("/reports", data={"csrf": token(client), "kind": "group", "which": which,
                                             "collections": list(collections)})
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/reports\?asked=(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def statuses_sheet(data: bytes) -> tuple[list[str], set[str]]:
    """The «Статусы» sheet's header and the logins in its column «Логин»."""
    ws = load_workbook(io.BytesIO(data), read_only=True)["Статусы"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = [str(v) for v in rows[0] if v is not None]
    column = header.index("Логин")
    return header, {r[column] for r in rows[1:] if r and r[column]}


def test_a_regional_coordinator_groups_the_marked_collections(gsite: Site) -> None:
    operator = gsite.signed_in("operator")
    page = operator.get("/operator/collections").text
    assert "Разрешить в групповом отчёте: " + CLOSED_ID in page
    mark(operator, COLLECTION_ID)
    mark(operator, CLOSED_ID)
    assert "Исключить из группового отчёта: " + CLOSED_ID in operator.get("/operator/collections").text

    regional = gsite.signed_in("reg77", "10.0.0.2")
    monitor = regional.get("/monitor").text
    offered = re.findall(r'name="collections" value="([^"]+)"', monitor)
    assert sorted(offered) == sorted([COLLECTION_ID, CLOSED_ID])  # the unmarked one is not offered

    number = ask_group(regional, "all")
    listing = regional.get(f"/reports?asked={number}").text
    assert f"Отчёт № {number} (Групповой отчёт, " in listing and "формируется" in listing
    assert ask_group(regional, "all") == number  # the identical request while it runs joins it
    req = wait_finished(gsite, number)
    assert req.state == "ready", req.error
    assert req.flow_run_id is not None  # made as a Prefect flow run
    bell = regional.get("/reports/bell").text
    assert '<span class="badge">1</span>' in bell and "Групповой отчёт" in bell and "готов" in bell
    header, logins = statuses_sheet(regional.get(f"/reports/{number}/file").content)
    assert logins == REGION_77  # the region's schools, no other region's
    columns = [h for h in header if "(ID " in h]
    assert columns == [f"Информация об ОО 2026 (ID {CLOSED_ID})", OPEN_COLUMN]

    # «только открытые»: the closed collection stays out.
    only_open = ask_group(regional, "open")
    assert wait_finished(gsite, only_open).state == "ready"
    header, logins = statuses_sheet(regional.get(f"/reports/{only_open}/file").content)
    assert [h for h in header if "(ID " in h] == [OPEN_COLUMN]
    assert logins == REGION_77


def test_a_municipal_coordinator_picks_and_gets_its_own_schools(gsite: Site) -> None:
    operator = gsite.signed_in("operator")
    mark(operator, COLLECTION_ID)
    mark(operator, CLOSED_ID)
    municipal = gsite.signed_in("mun7701", "10.0.0.3")
    number = ask_group(municipal, "all", (CLOSED_ID,))
    assert wait_finished(gsite, number).state == "ready"
    header, logins = statuses_sheet(municipal.get(f"/reports/{number}/file").content)
    assert logins == {"edu770001", "edu770002", "edu770006"}
    assert [h for h in header if "(ID " in h] == [f"Информация об ОО 2026 (ID {CLOSED_ID})"]


def test_only_marked_collections_may_be_grouped_and_a_mark_is_effective_at_once(gsite: Site) -> None:
    operator = gsite.signed_in("operator")
    regional = gsite.signed_in("reg77", "10.0.0.2")
    mark(operator, COLLECTION_ID)
    for picked in ((UNMARKED_ID,), (COLLECTION_ID, UNMARKED_ID), ("no-such-collection",)):
        response = regional.post("/reports", data={"csrf": token(regional), "kind": "group", "which": "all",
                                                   "collections": list(picked)})
        assert response.status_code == 404, picked
    mark(operator, COLLECTION_ID, on=False)
    assert "Оператор пока не отметил сборы" in regional.get("/monitor").text
    response = regional.post("/reports", data={"csrf": token(regional), "kind": "group", "which": "all",
                                               "collections": [COLLECTION_ID]})
    assert response.status_code == 404
    # Only the closed one marked, «только открытые» asked: nothing to group, said in Russian.
    mark(operator, CLOSED_ID)
    response = regional.post("/reports", data={"csrf": token(regional), "kind": "group", "which": "open"})
    assert response.status_code == 400 and "среди выбранных нет открытых" in response.text
    assert gsite.app.state.reports.requests.mine("reg77") == []
    # Nobody but the operator marks.
    for login in ("reg77", "mun7701", "edu770001"):
        client = gsite.signed_in(login, "10.0.0.9")
        response = client.post(f"/operator/collections/{UNMARKED_ID}/groupable",
                               data={"csrf": token(client), "groupable": "true"})
        assert response.status_code == 404
    assert UNMARKED_ID not in gsite.app.state.grouping.groupable()


def test_the_cli_verb_marks_as_the_operators_page_does(gsite: Site) -> None:
    home = str(gsite.settings.home)
    cli = [sys.executable, "-m", "flows.cli", "--home", home, "collections", "groupable"]
    done = subprocess.run([*cli, COLLECTION_ID, CLOSED_ID], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"may be grouped: {CLOSED_ID}, {COLLECTION_ID}"
    regional = gsite.signed_in("reg77", "10.0.0.2")  # the running cabinet sees it at once
    assert sorted(re.findall(r'name="collections" value="([^"]+)"', regional.get("/monitor").text)) == [
        CLOSED_ID, COLLECTION_ID]
    off = subprocess.run([*cli, "--off", CLOSED_ID], capture_output=True, text=True, timeout=300)
    assert off.stdout.strip() == f"may be grouped: {COLLECTION_ID}"
    unknown = subprocess.run([*cli, "no-such"], capture_output=True, text=True, timeout=300)
    assert unknown.returncode == 1 and unknown.stderr.strip() == (
        f"error: no published collection no-such (published: {CLOSED_ID}, {COLLECTION_ID}, {UNMARKED_ID})")


def test_a_failed_group_report_is_asked_again_from_its_line(gsite: Site) -> None:
    operator = gsite.signed_in("operator")
    mark(operator, COLLECTION_ID)
    mark(operator, CLOSED_ID)
    municipal = gsite.signed_in("mun7701", "10.0.0.3")
    blocker = gsite.settings.reports_dir / "mun7701"  # a file where its folder should be: the run fails
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    first = ask_group(municipal, "all")
    assert wait_finished(gsite, first).state == "failed"
    listing = municipal.get("/reports").text
    again_form = re.search(r'<form method="post" action="/reports">(.*?)</form>', listing)
    assert again_form and f"Запросить снова: отчёт № {first}" in again_form.group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', again_form.group(1)))
    assert fields["kind"] == "group" and fields["which"] == "all"
    blocker.unlink()
    response = municipal.post("/reports", data=fields)
    assert response.status_code == 303
    again = int(response.headers["location"].rsplit("=", 1)[1])
    assert again != first and wait_finished(gsite, again).state == "ready"
    _, logins = statuses_sheet(municipal.get(f"/reports/{again}/file").content)
    assert logins == {"edu770001", "edu770002", "edu770006"}
