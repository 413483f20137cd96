"""Reports asked for in the cabinet: recorded, made as a Prefect flow run, announced by the bell,
downloaded from «Мои отчёты»; an identical request joins the running one, a failed run says so
and can be asked again, a run a stopped process left is resumed, and a municipal coordinator's
workbooks hold its own schools only."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from prefect import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.cabinet_site import PUBLICATIONS, A, B, C, Site, close, token
from tests.monitor_site import COLLECTION_ID, build_monitored_site, prefect_api, wait_finished  # noqa: F401
from web.app import create_app
from web.config import WebSettings

pytestmark = pytest.mark.usefixtures("prefect_api")
FOREIGN = (B, "edu770005", C, "ksh500002")


@pytest.fixture()
def msite(tmp_path: Path) -> Iterator[Site]:
    built = build_monitored_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}")
    yield built
    close(built)


def ask(client: TestClient, kind: str, collection: str = COLLECTION_ID, publication: str = "") -> int:
    fields = {"publication": publication} if publication else {"collection": collection}
    response = client.post("/reports", data={"csrf": token(client), "kind": kind, **fields})
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/reports\?asked=(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def cells(data: bytes) -> set[str]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    return {str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None}


def test_a_results_export_from_request_to_download(msite: Site) -> None:
    regional = msite.signed_in("reg77")
    number = ask(regional, "results")
    page = regional.get(f"/reports?asked={number}").text
    assert f"Отчёт № {number} (Экспорт результатов, {COLLECTION_ID}) формируется" in page
    assert ask(regional, "results") == number  # the same request while it runs joins it
    req = wait_finished(msite, number)
    assert req.state == "ready", req.error
    bell = regional.get("/reports/bell").text
    assert '<span class="badge">1</span>' in bell and f"Отчёт № {number}" in bell and "готов" in bell
    listing = regional.get("/reports").text
    assert f"Скачать отчёт № {number}" in listing
    assert "badge" not in regional.get("/reports/bell").text  # seen on «Мои отчёты»
    data = regional.get(f"/reports/{number}/file")
    assert data.status_code == 200
    values = cells(data.content)
    assert {"edu770001", "edu770003", "Иванов Иван (edu770001)"} <= values
    assert "edu500001" not in values and "edu770002" not in values  # other region; nothing accepted
    # The run is Prefect's: its flow run is recorded as completed.
    assert req.flow_run_id is not None
    with temporary_settings(updates={PREFECT_API_URL: os.environ["PREFECT_API_URL"]}), \
            get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(req.flow_run_id))
    assert run.state is not None and run.state.is_completed()
    # Nobody else downloads it.
    assert msite.signed_in("mun7701", "10.0.0.5").get(f"/reports/{number}/file").status_code == 404


def test_a_failed_run_is_told_and_can_be_asked_again(msite: Site) -> None:
    municipal = msite.signed_in("mun7701")
    # The coordinator's report folder cannot be made: a file stands where it should be.
    blocker = msite.settings.reports_dir / "mun7701"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    first = ask(municipal, "statuses")
    req = wait_finished(msite, first)
    assert req.state == "failed" and req.error
    assert f"Отчёт № {first} (Экспорт статусов, {COLLECTION_ID}) не сформирован из-за ошибки" in \
        municipal.get("/reports/bell").text
    listing = municipal.get("/reports").text
    assert f"Запросить снова: отчёт № {first}" in listing
    assert municipal.get(f"/reports/{first}/file").status_code == 404
    blocker.unlink()
    again = ask(municipal, "statuses")
    assert again != first
    assert wait_finished(msite, again).state == "ready"
    values = cells(municipal.get(f"/reports/{again}/file").content)
    assert {A, "edu770002", "edu770006", "Не приступило", "В работе", "Сдано"} <= values
    assert not values & set(FOREIGN)


def test_a_municipal_coordinators_results_hold_its_schools_only(msite: Site) -> None:
    municipal = msite.signed_in("mun7701")
    number = ask(municipal, "results")
    assert wait_finished(msite, number).state == "ready"
    values = cells(municipal.get(f"/reports/{number}/file").content)
    assert A in values and not values & set(FOREIGN)
    # The bell of another coordinator says nothing of it.
    assert "badge" not in msite.signed_in("mun7702", "10.0.0.6").get("/reports/bell").text


def test_a_request_left_running_by_a_stopped_web_is_made_at_the_next_start(msite: Site) -> None:
    requests = msite.app.state.reports.requests
    # What a process killed mid-run leaves: the row, running, with no file.
    req, joined = requests.ask("reg77", "statuses", {"collection": COLLECTION_ID})
    requests.started(req.id, None)
    assert not joined and requests.get(req.id).state == "running"  # type: ignore[union-attr]
    restarted = create_app(WebSettings(msite.settings), PUBLICATIONS)
    try:
        done = wait_finished(msite, req.id)
        assert done.state == "ready" and done.file is not None
        assert (msite.settings.home / done.file).is_file()
    finally:
        restarted.state.reports.close()
        restarted.state.cab.cabinet.warehouse.engine.dispose()


def test_scheduled_workbooks_are_listed_and_downloaded(msite: Site) -> None:
    folder = msite.settings.reports_dir / "reg77"
    folder.mkdir(parents=True)
    (folder / f"status_{COLLECTION_ID}.xlsx").write_bytes(b"PK scheduled")
    regional = msite.signed_in("reg77")
    assert f"status_{COLLECTION_ID}.xlsx" in regional.get("/reports").text
    assert regional.get(f"/reports/scheduled/status_{COLLECTION_ID}.xlsx").content == b"PK scheduled"
    municipal = msite.signed_in("mun7701", "10.0.0.7")
    assert municipal.get(f"/reports/scheduled/status_{COLLECTION_ID}.xlsx").status_code == 404
    assert municipal.get("/reports/scheduled/..%2Freg77%2Fstatus.xlsx").status_code == 404


def test_the_download_report_in_the_background(msite: Site) -> None:
    school = msite.signed_in(A, "10.0.0.8")
    assert school.get(f"/files/{msite.files['Требования к компьютерам.pdf']}").status_code == 200
    municipal = msite.signed_in("mun7701")
    number = ask(municipal, "downloads", publication="vpr-tech-2027")
    assert "Отчёт о скачивании, vpr-tech-2027) формируется" in municipal.get(f"/reports?asked={number}").text
    assert wait_finished(msite, number).state == "ready"
    values = cells(municipal.get(f"/reports/{number}/file").content)
    assert {A, "edu770002", "Требования к компьютерам.pdf", "не скачивал"} <= values
    assert not values & {B, C, "spo770004"}
    # Asked again once ready: a new report, and the first one's file stays as it was made.
    again = ask(municipal, "downloads", publication="vpr-tech-2027")
    assert again != number and wait_finished(msite, again).state == "ready"
    requests = msite.app.state.reports.requests
    assert requests.get(again).file != requests.get(number).file  # type: ignore[union-attr]
    assert municipal.get(f"/reports/{number}/file").status_code == 200
    # A publication it does not see is refused before anything is recorded.
    refused = municipal.post("/reports", data={"csrf": token(municipal), "kind": "downloads",
                                               "publication": "region-50-only"})
    assert refused.status_code == 404
    assert [r.id for r in msite.app.state.reports.requests.mine("mun7701")] == [again, number]


def test_one_worker_of_a_start_takes_a_left_request(msite: Site) -> None:
    """Workers of one `sbor web` start share a boot id: one of them resumes a request an earlier
    start left; a later start takes it again once."""
    requests = msite.app.state.reports.requests
    req, _ = requests.ask("reg77", "statuses", {"collection": COLLECTION_ID})
    assert requests.claim(req.id, "start-1") is True
    assert requests.claim(req.id, "start-2") is True
    assert requests.claim(req.id, "start-2") is False  # its sibling worker
    requests.fail(req.id, "ended")
    assert requests.claim(req.id, "start-3") is False  # finished: nobody runs it again
