"""The cabinet's test site with a collection under way: «Информация об ОО для проведения ВПР»
published over the site's schools (and two more in region 77), real templates filled and sent
through the pipeline (``flows.ingest.ingest``'s steps), so the warehouse holds accepted, rejected and
missing submissions exactly as schools make them.

Region 77: edu770001 and edu770003 submitted, edu770002 sent a file with an error (in work),
edu770005 and edu770006 sent nothing (not started). Region 50: edu500001 submitted,
ksh500002 sent nothing.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.pipeline import claim_all, load_world, process_batch
from flows.publish import form_for
from flows.serve import prefect_server
from flows.settings import load_settings
from flows.workspace import open_warehouse
from forms import load_collection
from templates import TemplateFactory
from tests.cabinet_site import Site, build_site, org, token
from tests.conftest import COLLECTIONS_DIR
from tests.workbooks import fill
from warehouse.report_requests import ReportRequest

COLLECTION_ID = "vpr-org-info-2027"
SHEET = "Сведения об ОО"
EXTRA = (org("edu770005", "77", "7702", "Школа 7"), org("edu770006", "77", "7701", "Школа 8"))
SUBMITTED = ("edu770001", "edu770003", "edu500001")
IN_WORK = ("edu770002",)


def answers(login: str, online: int = 5) -> dict[str, Any]:
    return {"2": f"Иванов Иван ({login})", "3": "Заместитель директора", "4": "+74951234567",
            "5": "school@example.ru", "6": 10, "7": online, "8": 2, "9": "На компьютерах",
            **{str(n): "Да" for n in range(10, 17)}, "17": 500, "18": date(2027, 3, 1),
            "19": "=1+1 не формула"}


def build_monitored_site(home: Path, url: str) -> Site:
    site = build_site(home, url)
    settings = site.settings
    wh = open_warehouse(settings)
    wh.upsert_organisations(list(EXTRA))
    now = datetime.now(UTC)
    collection = replace(load_collection(COLLECTIONS_DIR / "vpr_org_info_2027.yaml"),
                         opens=now - timedelta(days=10), closes=now + timedelta(days=10))
    form = form_for(collection)
    # flows.publish.register's step, on this warehouse (whose connections are closed below).
    wh.publish(collection, form, [o.login for o in collection.participants.select(wh.organisations())])
    factory = TemplateFactory(form, collection, settings.secret())
    orgs = {o.login: o for o in wh.organisations()}
    for login, online in [*((s, 5) for s in SUBMITTED), *((s, 50) for s in IN_WORK)]:
        folder = settings.inbox / login
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "сведения.xlsx").write_bytes(fill(factory.render(orgs[login]), {SHEET: answers(login, online)}))
    # flows.ingest.ingest's steps, on this warehouse, so its connections are closed here.
    done = process_batch(settings, wh, load_world(wh, settings), claim_all(settings, None))
    wh.engine.dispose()
    outcomes = {o.login: o.outcome for o in done}
    assert outcomes == {**dict.fromkeys(SUBMITTED, "accepted"), **dict.fromkeys(IN_WORK, "rejected")}, outcomes
    return site


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prefect server in a child process for the report runs (as tests/test_flows.py starts
    one, for the same reasons); ``prefect_server`` sets PREFECT_API_URL in the environment, which
    the web process's report threads read."""
    home = tmp_path_factory.mktemp("prefect-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with prefect_server(load_settings(home), port, startup_timeout=300) as server:
        yield server.api_url


def wait_finished(site: Site, request_id: int, seconds: float = 240) -> ReportRequest:
    """The request once its run has ended (the deadline only stops a hung test; no time is
    asserted)."""
    requests = site.app.state.reports.requests
    deadline = time.monotonic() + seconds
    while True:
        req = requests.get(request_id)
        assert req is not None
        if req.finished or time.monotonic() > deadline:
            return req
        time.sleep(0.2)


WARNING_KEY = "Специальности!I5:rule:applications-vs-quota"
EXPLANATION = "Набор 2025 года: часть мест отдана по целевому приёму"


def build_explained_site(home: Path, url: str) -> Site:
    """``tests.collect_site``'s college (spo770004, municipality 7702 of region 77) has sent the
    specialities form on the web with a warning (fewer applications than budget places on the
    first row) and answered it with ``EXPLANATION``, as a school does on the form page."""
    from tests.collect_site import COLLEGE, SPO, collect_site, example_rows  # the college's own site

    site = collect_site(home, url)
    wh = site.cabinet.warehouse
    collection = load_collection(COLLECTIONS_DIR / "spo_specialities_2026.yaml")
    wh.publish(collection, form_for(collection), [COLLEGE])  # what `sbor publish` registers
    school = site.signed_in(COLLEGE, "10.0.9.1")
    rows = example_rows()
    rows[0]["5"] = "20"
    sent = school.post(f"/collect/{SPO}", data={
        "csrf": token(school), "version": "0", "action": "submit",
        "data": json.dumps({"specialities": rows, "_explanations": {WARNING_KEY: EXPLANATION}})})
    assert sent.status_code == 303, sent.text
    return site
