"""Excel through the cabinet: the school downloads its personalised template from the file storage
(recorded like any download), uploads it filled, and the inbox's own pipeline judges it in the web
process's worker; the page shows the outcome, the findings and the answer workbook; the history
page lists every file. Real templates, real pipeline, SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import re
from urllib.parse import unquote

import openpyxl
import sqlalchemy as sa

from flows.ingest import ingest
from flows.uploads import Job, UploadWorker, save_upload
from flows.webform import TEMPLATE_TITLE
from tests.cabinet_site import A, B, Site
from tests.upload_site import COLLECTION, answered, filled, template, upload

TEMPLATE = f"/collect/{COLLECTION}/template"
HISTORY = f"/collect/{COLLECTION}/history"


def _submission_id(fragment: str) -> int:
    found = re.search(r'href="/collect/[^/"]+/answers/(\d+)"', fragment)
    assert found, fragment
    return int(found.group(1))


def _status(client, collection: str = COLLECTION) -> str:  # type: ignore[no-untyped-def]
    page = client.get(f"/collect/{collection}").text
    found = re.search(r'<strong id="school-status">([^<]+)</strong>', page)
    assert found, page
    return found.group(1)


def _credited(site: Site) -> list[tuple[str | None, str | None, str]]:
    wh = site.app.state.cab.cabinet.warehouse
    s = wh.fixed.submissions
    with wh.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(s.c.collection_id, s.c.login, s.c.outcome).order_by(s.c.id))]


def test_the_template_is_the_schools_own_file_and_its_download_is_recorded(upload_site: Site) -> None:
    school = upload_site.signed_in(A)
    assert _status(school) == "Не приступал"
    book = openpyxl.load_workbook(io.BytesIO(template(school)))
    assert book.sheetnames  # a real workbook, the school's own
    assert _status(school) == "В работе"  # the template's download starts the work (issue 13)
    coordinator = upload_site.signed_in("mun7701", "10.0.0.7")
    report = coordinator.get(f"/publications/{COLLECTION}/downloads").text
    row = report.split(f"<td>{A}</td>")[1].split("</tr>")[0]
    assert "Шаблон формы" in row and "не скачивал" not in row
    other = report.split("<td>edu770002</td>")[1].split("</tr>")[0]
    assert "Шаблон формы" in other and other.count("не скачивал") == 2
    # A coordinator has no template of its own and never gets a school's.
    assert coordinator.get(TEMPLATE).status_code == 404
    school_account = upload_site.cabinet.accounts.get(A)
    [stored] = [f for f in upload_site.cabinet.storage.visible(school_account, COLLECTION)
                if f.owner_login == A and f.title == TEMPLATE_TITLE]
    assert coordinator.get(f"/files/{stored.id}").status_code == 404
    assert f'href="/files/{stored.id}"' not in coordinator.get(f"/publications/{COLLECTION}").text


def test_a_filled_template_is_accepted_with_a_receipt_and_the_status_becomes_submitted(upload_site: Site) -> None:
    school = upload_site.signed_in(A)
    data = filled(template(school), A)
    first = upload(school, "Информация об ОО.xlsx", data)
    assert first.status_code == 200 and "Файл принят, проверяется…" in first.text
    # Written to the school's own inbox folder (already taken by the worker, or still waiting).
    fragment = answered(school, first)
    assert "Принят</strong>" in fragment and "Информация об ОО.xlsx" in fragment
    receipt = school.get(f"/collect/{COLLECTION}/answers/{_submission_id(fragment)}")
    assert receipt.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(receipt.content))
    assert unquote(receipt.headers["content-disposition"]).endswith(f"квитанция-{_submission_id(fragment):06d}.xlsx")
    assert book.sheetnames  # a real workbook
    assert _status(school) == "Сдано"
    assert _credited(upload_site) == [(COLLECTION, A, "accepted")]
    history = school.get(HISTORY).text
    assert "Информация об ОО.xlsx" in history and "Принят" in history and "Скачать квитанцию" in history


def test_another_schools_template_is_refused_and_credited_to_the_uploader(upload_site: Site) -> None:
    other = upload_site.signed_in(B, "10.0.0.8")
    data = filled(template(other), B)
    school = upload_site.signed_in(A)
    fragment = answered(school, upload(school, f"{B}.xlsx", data))
    assert "Не принят: есть ошибки" in fragment
    assert B in fragment  # the finding names the template's school
    assert school.get(f"/collect/{COLLECTION}/answers/{_submission_id(fragment)}").status_code == 200
    assert _credited(upload_site) == [(COLLECTION, A, "rejected")]
    assert _status(school) == "В работе"
    # B is at work by its own template's download only: the file sent is not credited to it.
    assert _status(other) == "В работе"
    assert "Вы ещё ничего не отправляли" in other.get(HISTORY).text
    # B cannot fetch A's answer by its number.
    assert other.get(f"/collect/{COLLECTION}/answers/{_submission_id(fragment)}").status_code == 404
    # Nor read A's outcome by the file's content: for B it is a file not received.
    peek = other.get(f"{HISTORY}?uploaded={hashlib.sha256(data).hexdigest()}",
                     headers={"HX-Request": "true"}).text
    assert "проверяется" in peek and "Не принят" not in peek and A not in peek


def test_a_file_that_is_not_a_workbook_is_refused_in_russian(sqlite_upload_site: Site) -> None:
    school = sqlite_upload_site.signed_in(A)
    fragment = answered(school, upload(school, "отчёт.pdf", b"%PDF-1.4 not a workbook " * 50))
    assert "Не принят: файл не прочитан" in fragment
    message = re.findall(r"<td>([^<]*отчёт\.pdf[^<]*)</td>", fragment)
    assert message and re.search("[а-я]{5}", message[0]), fragment
    assert _credited(sqlite_upload_site) == [(None, A, "unreadable")]
    refusal = school.get(f"/collect/{COLLECTION}/answers/{_submission_id(fragment)}")
    assert refusal.status_code == 200 and openpyxl.load_workbook(io.BytesIO(refusal.content)).sheetnames


def test_an_oversize_body_is_refused_while_it_streams(sqlite_upload_site: Site) -> None:
    school = sqlite_upload_site.signed_in(A)
    response = upload(school, "большой.xlsx", b"0" * (11 * 2**20))
    assert response.status_code == 413
    assert "Файл слишком большой: принимаются файлы не больше 10 МБ" in response.text
    assert not list((sqlite_upload_site.settings.inbox).rglob("*.xlsx"))
    # The cabinet's other forms keep their own small cap.
    assert school.post("/logout", content=b"x" * 100_000).status_code == 413


def test_an_empty_choice_is_refused_with_what_to_do(sqlite_upload_site: Site) -> None:
    school = sqlite_upload_site.signed_in(A)
    response = upload(school, "", b"")
    assert response.status_code == 400 and "Файл не выбран" in response.text


def test_two_uploads_in_a_row_are_both_answered(sqlite_upload_site: Site) -> None:
    school = sqlite_upload_site.signed_in(A)
    book = template(school)
    first = upload(school, "первый.xlsx", filled(book, A, seed=1))
    second = upload(school, "второй.xlsx", filled(book, A, seed=2))
    one, two = answered(school, first), answered(school, second)
    assert "первый.xlsx" in one and "второй.xlsx" in two
    assert _submission_id(one) != _submission_id(two)
    assert [o for _, _, o in _credited(sqlite_upload_site)] == ["accepted", "accepted"]
    history = school.get(HISTORY).text
    assert history.index("второй.xlsx") < history.index("первый.xlsx")  # newest first


def test_without_javascript_the_upload_leads_to_a_page_that_shows_the_answer(sqlite_upload_site: Site) -> None:
    school = sqlite_upload_site.signed_in(A)
    data = filled(template(school), A)
    response = upload(school, "без скриптов.xlsx", data, htmx=False)
    assert response.status_code == 303
    page = school.get(response.headers["location"])
    assert page.status_code == 200 and "История отправок" in page.text
    fragment = answered(school, page)
    assert "Принят</strong>" in fragment
    # The same file again is not recorded twice: the page says so and shows the first answer.
    again = answered(school, upload(school, "ещё раз.xlsx", data))
    assert "уже был получен" in again and _submission_id(again) == _submission_id(fragment)
    assert len(_credited(sqlite_upload_site)) == 1


def test_an_upload_a_crash_left_in_the_inbox_is_taken_by_the_next_ingest(sqlite_upload_site: Site) -> None:
    """The web process died after writing the file and before its worker judged it: the file
    lies in inbox/<login>/ like any the school put there, and `sbor ingest` credits it to A."""
    settings = sqlite_upload_site.settings
    book = (settings.templates_dir / COLLECTION / f"{A}.xlsx").read_bytes()
    path = save_upload(settings, A, "после сбоя.xlsx", filled(book, A))
    assert path == settings.inbox / A / "после сбоя.xlsx"
    [outcome] = ingest(settings)
    assert (outcome.login, outcome.outcome, outcome.file) == (A, "accepted", "после сбоя.xlsx")
    school = sqlite_upload_site.signed_in(A)
    assert _status(school) == "Сдано"
    assert "Скачать квитанцию" in school.get(HISTORY).text


def test_an_upload_is_taken_at_once_even_one_that_looks_unfinished(sqlite_upload_site: Site) -> None:
    """The cabinet writes an upload whole before it enters the inbox, so the worker takes it at
    once: an empty file (which ``sbor ingest`` leaves for the give-up time, 60 s, in case it is
    still being copied) is answered in this very batch."""
    settings = sqlite_upload_site.settings
    path = save_upload(settings, A, "пустой.xlsx", b"")
    worker = UploadWorker(settings)
    try:
        [answered_now] = worker.process([Job(path, COLLECTION)])
    finally:
        worker.stop()
    assert answered_now.outcome == "unreadable" and not path.exists()
