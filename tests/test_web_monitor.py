"""Monitoring in the cabinet: the counts say what ``sbor status`` says at the same moment, the
participant list filters, searches, sorts and pages in SQL, a school's accepted data and history
are shown read-only, and a municipal coordinator never sees another municipality's school."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import product
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from forms import load_collection
from forms.coordinators import Coordinator
from forms.status import lifecycle, summarize
from templates.coordinators import render_status
from tests.cabinet_site import B, C, Site, close
from tests.conftest import COLLECTIONS_DIR
from tests.monitor_site import COLLECTION_ID, build_monitored_site
from warehouse.monitoring import monitoring, scoped_statuses, status_case

URL = f"/monitor/{COLLECTION_ID}"


@pytest.fixture()
def msite(tmp_path: Path, database_url: str) -> Iterator[Site]:
    built = build_monitored_site(tmp_path, database_url)
    yield built
    close(built)


def counts_on(html: str) -> dict[str, int]:
    """«Общая статистика» as the page prints it (label → number)."""
    block = html.split('<dl class="counts">', 1)[1].split("</dl>", 1)[0]
    return {k: int(v) for k, v in re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", block)}


def sbor_status(site: Site, region: str | None = None, now: str | None = None) -> dict[str, object]:
    args = ["--home", str(site.settings.home), "--database-url", site.settings.database_url,
            *(["--now", now] if now else []),
            "status", COLLECTION_ID, "--json", *(["--region", region] if region else [])]
    # The command as an operator runs it, in a process of its own.
    done = subprocess.run([str(Path(sys.executable).parent / "sbor"), *args], capture_output=True, text=True,
                          env={**os.environ, "SBOR_SECRET": "test-secret"}, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def rows_of(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<td>([a-z]{3}\d{6})</td>", body)


@pytest.mark.parametrize(("files", "accepted", "closed", "started"),
                         list(product((0, 1, 3), (0, 1), (False, True), (False, True))))
def test_status_case_is_lifecycle(files: int, accepted: int, closed: bool, started: bool) -> None:
    if accepted > files:
        return
    started_at = sa.literal("2026-12-01 07:00:00" if started else None, sa.String)
    expr = status_case(sa.literal(files), sa.literal(accepted), closed, started_at)
    with sa.create_engine("sqlite://").connect() as conn:
        assert conn.execute(sa.select(expr)).scalar_one() == lifecycle(files, accepted, closed, started).value


def test_a_template_download_alone_puts_a_school_in_work_everywhere(msite: Site) -> None:
    """ksh500002 sent nothing; it presses «Скачать шаблон» and is «В работе» in ``sbor status``,
    the status workbook and the monitoring screen, with the download as its start of work."""
    inside = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # within the form's own window (the YAML's)
    cab = msite.app.state.cab
    msite.app.state.cab = replace(cab, web=replace(cab.web, settings=replace(msite.settings, fixed_now=inside)))
    operator = msite.signed_in("operator", "10.0.0.9")
    before = "Регион 50 (50)</th><td>2</td><td>1</td><td>0</td><td>1</td>"
    assert before in operator.get(URL).text
    school = msite.signed_in("ksh500002", "10.0.0.6")
    assert school.get(f"/collect/{COLLECTION_ID}/template").status_code == 303  # to its own stored file
    # The monitoring screen (the regional coordinator's counts, and the operator's per region).
    regional = msite.signed_in("reg50", "10.0.0.8")
    counts = counts_on(regional.get(URL).text)
    assert counts == {"Всего": 2, "Не приступило": 0, "В работе": 1, "Сдано": 1}
    assert "Регион 50 (50)</th><td>2</td><td>0</td><td>1</td><td>1</td>" in operator.get(URL).text
    listed = regional.get(f"{URL}/participants", params={"status": "В работе"}).text
    assert rows_of(listed) == ["ksh500002"] and "01.12.2026 10:00" in listed  # the start, Moscow time
    # `sbor status`, in a process of its own.
    assert sbor_status(msite, "50")["counts"] == counts
    # The status workbook, from the rows the scheduled and requested workbooks read.
    wh = msite.cabinet.warehouse
    stored = wh.collection(COLLECTION_ID)
    assert stored is not None
    collection = replace(load_collection(COLLECTIONS_DIR / "vpr_org_info_2027.yaml"),
                         opens=stored.opens, closes=stored.closes)
    book = openpyxl.load_workbook(io.BytesIO(render_status(
        collection, Coordinator("reg50", "regional", "50", None, "Регион 50"),
        wh.statuses(COLLECTION_ID, region="50"), now=inside)))
    row = next(r for r in book["Участники"].iter_rows(values_only=True) if "ksh500002" in r)
    assert "В работе" in row and datetime(2026, 12, 1, 10, 0) in row
    # And the school's own block says so too.
    found = re.search(r'<strong id="school-status">([^<]+)</strong>', school.get(f"/collect/{COLLECTION_ID}").text)
    assert found is not None and found.group(1) == "В работе"


def test_a_draft_alone_puts_a_school_in_work_for_its_coordinator(msite: Site) -> None:
    wh = msite.cabinet.warehouse
    drafts = msite.app.state.collect.drafts
    drafts.save("ksh500002", COLLECTION_ID, {}, 0, now=datetime(2026, 12, 1, 7, 0, tzinfo=UTC))
    assert counts_on(msite.signed_in("reg50", "10.0.0.8").get(URL).text)["В работе"] == 1
    [row] = [r for r in wh.statuses(COLLECTION_ID, region="50") if r.login == "ksh500002"]
    assert (row.files, row.started_at) == (0, datetime(2026, 12, 1, 7, 0, tzinfo=UTC))


def test_counts_are_sbor_status_counts(msite: Site) -> None:
    regional = msite.signed_in("reg77")
    page = regional.get(URL)
    assert page.status_code == 200
    counts = counts_on(page.text)
    assert counts == sbor_status(msite, "77")["counts"]
    assert counts == {"Всего": 5, "Не приступило": 2, "В работе": 1, "Сдано": 2}
    # Per municipality, as `sbor status --region` tables it.
    by_place = sbor_status(msite, "77")["by_place"]
    assert by_place == {"7701 Муниципалитет 7701": {"Сдано": 1, "В работе": 1, "Не приступило": 1},
                        "7702 Муниципалитет 7702": {"Сдано": 1, "Не приступило": 1}}
    assert re.search(r"Муниципалитет 7701 \(7701\)</th><td>3</td><td>1</td><td>1</td><td>1</td>", page.text)
    operator = msite.signed_in("operator", "10.0.0.9")
    assert counts_on(operator.get(URL).text) == sbor_status(msite)["counts"]
    assert "Регион 50 (50)</th><td>2</td><td>1</td><td>0</td><td>1</td>" in operator.get(URL).text


def test_counts_after_closing_use_the_closed_words(msite: Site) -> None:
    later = datetime.now(UTC) + timedelta(days=30)
    cab = msite.app.state.cab
    msite.app.state.cab = replace(cab, web=replace(cab.web, settings=replace(msite.settings, fixed_now=later)))
    counts = counts_on(msite.signed_in("reg77").get(URL).text)
    assert list(counts) == ["Всего", "Сдано", "Не сдано", "Не приступило"]
    assert counts == {"Всего": 5, "Сдано": 2, "Не сдано": 1, "Не приступило": 2}
    assert counts == sbor_status(msite, "77", now=later.isoformat())["counts"]


def test_participant_list_filters_searches_sorts_and_pages(msite: Site) -> None:
    regional = msite.signed_in("reg77")
    page = regional.get(f"{URL}/participants").text
    assert rows_of(page) == ["edu770001", "edu770002", "edu770003", "edu770005", "edu770006"]
    assert page.count('class="not-started"') == 2
    not_started = regional.get(f"{URL}/participants", params={"status": "Не приступал"}).text
    assert rows_of(not_started) == ["edu770005", "edu770006"]
    assert not_started.count("<span class=\"status\">Не приступило</span>") == 2  # the workbooks' word
    assert "Найдено организаций: 2." in not_started
    assert rows_of(regional.get(f"{URL}/participants", params={"municipality": "7702"}).text) == [
        "edu770003", "edu770005"]
    assert rows_of(regional.get(f"{URL}/participants", params={"q": "школа 3"}).text) == ["edu770003"]
    assert rows_of(regional.get(f"{URL}/participants", params={"q": "770002"}).text) == ["edu770002"]
    by_status = rows_of(regional.get(f"{URL}/participants", params={"sort": "status"}).text)
    assert by_status[:2] == ["edu770005", "edu770006"] and by_status[2] == "edu770002"
    by_submitted = rows_of(regional.get(f"{URL}/participants", params={"sort": "submitted", "desc": "1"}).text)
    assert set(by_submitted[:2]) == {"edu770001", "edu770003"}
    # Pages of two.
    cab = msite.app.state.cab
    msite.app.state.cab = replace(cab, web=replace(cab.web, page_size=2))
    second = regional.get(f"{URL}/participants", params={"page": 2}).text
    assert rows_of(second) == ["edu770003", "edu770005"] and "Страница 2 из 3" in second


def test_a_schools_answers_and_history(msite: Site) -> None:
    regional = msite.signed_in("reg77")
    page = regional.get(f"{URL}/schools/edu770001").text
    # The form's own rendering (issue 13's inputs), every one read-only.
    assert "Сдано" in page and 'value="Иванов Иван (edu770001)"' in page and 'value="+74951234567"' in page
    assert 'value="2027-03-01"  type="date"' in page and '<option value="Да" selected>Да</option>' in page
    assert 'value="=1+1 не формула"' in page
    inputs = re.findall(r"<input id=\"c-[^>]*>", page)
    selects = re.findall(r"<select id=\"c-[^>]*>", page)
    assert inputs and selects and all(" readonly" in i for i in inputs) and all(" disabled" in s for s in selects)
    # No control that changes data: no form posts anywhere but «Выйти».
    assert re.findall(r'<form method="post" action="([^"]+)"', page) == ["/logout"]
    assert "Сохранить черновик" not in page and "Сдать отчёт" not in page and "Добавить строку" not in page
    in_work = regional.get(f"{URL}/schools/edu770002").text
    assert "В работе" in in_work and "Организация ещё не сдала данные" in in_work
    assert "Не принят: есть ошибки" in in_work
    assert "компьютеров с доступом в Интернет (50) больше, чем всего компьютеров (10)" in in_work
    assert "Файлов и отправок веб-формы от организации не поступало." in regional.get(f"{URL}/schools/edu770005").text


def test_a_municipal_coordinator_sees_only_its_municipality(msite: Site) -> None:
    municipal = msite.signed_in("mun7701")
    overview = municipal.get(URL).text
    assert counts_on(overview) == {"Всего": 3, "Не приступило": 1, "В работе": 1, "Сдано": 1}
    pages = [overview, municipal.get("/monitor").text,
             municipal.get(f"{URL}/participants").text,
             municipal.get(f"{URL}/participants", params={"municipality": "7702"}).text,
             municipal.get(f"{URL}/participants", params={"q": "edu7700"}).text]
    for html in pages:
        for foreign in (B, "edu770005", C, "ksh500002", "Муниципалитет 7702", "Регион 50"):
            assert foreign not in html
    assert rows_of(pages[2]) == ["edu770001", "edu770002", "edu770006"]
    assert municipal.get(f"{URL}/schools/{B}").status_code == 404
    assert municipal.get(f"{URL}/schools/{C}").status_code == 404
    assert msite.signed_in("reg50", "10.0.0.8").get(f"{URL}/schools/edu770001").status_code == 404


@pytest.mark.parametrize("login", ["operator", "reg77", "mun7701", "mun7702", "reg50"])
@pytest.mark.parametrize("days", [0, 30])
def test_counts_in_sql_are_the_status_rows_counts(msite: Site, login: str, days: int) -> None:
    """The database's count per place equals ``forms.status.summarize`` over the same rows that
    ``sbor status`` and the status workbook read, open and after closing."""
    wh = msite.cabinet.warehouse
    account = msite.cabinet.accounts.get(login)
    assert account is not None
    row = wh.collection(COLLECTION_ID)
    assert row is not None
    now = datetime.now(UTC) + timedelta(days=days)
    closed = now >= row.closes
    view = monitoring(wh, account, row, now)
    rows = scoped_statuses(wh, account, COLLECTION_ID)
    assert view.summary == summarize(rows, closed)
    for place in view.places:
        mine = [r for r in rows if (r.region_code if login == "operator" else r.municipality_code) == place.code]
        assert place.summary == summarize(mine, closed)
    assert sum(p.summary.total for p in view.places) == len(rows) > 0
