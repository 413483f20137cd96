"""The school's «Сбор данных» in the cabinet: the block, drafts (versions, conflicts, a server
restart), a cell's own check, «Сдать отчёт» refused at the right cell and then accepted, the
receipt, «Редактировать» after sending, a closed window, and one form two ways: the same rows
sent on the web page and in the filled template load identical warehouse rows."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from flows.pipeline import claim_all, load_world, process_batch
from flows.webform import WEB_FILE, judge_draft
from forms import builtin_forms, load_collection, worded
from forms.publications import COLLECTIONS_DIR
from templates import render_template
from tests.cabinet_site import A, Site, csrf_of
from tests.collect_site import CLOSED, COLLEGE, NAMES, OPEN, SPO, at, example_rows, stop
from tests.upload_site import answered
from tests.workbooks import fill, set_cells
from validators import Context, judge
from warehouse import NewSubmission

FORM = builtin_forms()["spo_specialities"]
COLLECTION = load_collection(COLLECTIONS_DIR / "spo_specialities_2026.yaml")


def _page(client, url: str = f"/collect/{SPO}") -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    page = client.get(url)
    assert page.status_code == 200, page.text
    version = int(re.search(r'name="version" value="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    return page.text, csrf_of(page.text), version


def _save(client, csrf: str, rows: list[dict[str, str]], version: int):  # type: ignore[no-untyped-def]
    """An autosave as the page's script sends it: JSON, the CSRF token in a header."""
    return client.post(f"/collect/{SPO}/draft", json={"version": version, "data": {"specialities": rows}},
                       headers={"X-CSRF-Token": csrf})


def _act(client, csrf: str, rows: list[dict[str, str]], version: int, action: str):  # type: ignore[no-untyped-def]
    return client.post(f"/collect/{SPO}", data={"csrf": csrf, "version": str(version), "action": action,
                                                "data": json.dumps({"specialities": rows})})


def test_the_block_shows_the_window_status_and_what_to_press(college_site: Site) -> None:
    client = college_site.signed_in(COLLEGE)
    block = client.get(f"/publications/{SPO}").text
    assert "Открыт" in block and "1 ноября 2026, 12:00 – 25 декабря 2026, 18:00 (мск)" in block
    assert "Статус: <strong>Не приступал</strong>" in block and ">Заполнить</a>" in block
    text, csrf, version = _page(client)
    assert version == 0
    # A new draft holds the template's prefilled rows: the college's five specialities.
    for i, name in enumerate(NAMES):
        assert f'id="c-specialities-{i}-0" data-field="1" value="{name}"' in text
    assert _save(client, csrf, example_rows(), 0).status_code == 200
    block = client.get(f"/publications/{SPO}").text
    assert "Статус: <strong>В работе</strong>" in block and ">Редактировать</a>" in block


def test_drafts_keep_versions_refuse_a_stale_save_and_survive_a_restart(college_site: Site) -> None:
    first = college_site.signed_in(COLLEGE)
    second = college_site.signed_in(COLLEGE, "10.0.0.2")  # another tab, or a colleague
    _, csrf1, v1 = _page(first)
    _, csrf2, v2 = _page(second)
    rows = example_rows()
    saved = _save(first, csrf1, rows, v1)
    assert saved.status_code == 200 and saved.json()["version"] == 1
    assert saved.json()["shown"] == "Последнее изменение: 01.12.2026 10:00 (мск)"
    stale = _save(second, csrf2, [{"1": NAMES[0], "3": "999"}], v2)
    assert stale.status_code == 409
    assert stale.json()["message"].startswith("Черновик уже изменён в другой вкладке или другим пользователем")
    # The stale save changed nothing; a save on the current version goes on.
    rows[0]["3"] = "30"
    assert _save(first, csrf1, rows, 1).json()["version"] == 2
    # The page's own buttons are refused the same way.
    assert _act(second, csrf2, rows, 1, "save").status_code == 409

    stop(college_site)
    restarted = at(college_site, college_site.settings.now())  # a new app on the same database
    client = restarted.signed_in(COLLEGE, "10.0.0.3")
    text, _, version = _page(client)
    stop(restarted)
    assert version == 2
    assert 'id="c-specialities-0-4" data-field="3" value="30"' in text
    assert "Последнее изменение: 01.12.2026 10:00 (мск)" in text


def test_an_autosave_that_is_not_the_pages_json_is_refused_and_saves_nothing(college_site: Site) -> None:
    client = college_site.signed_in(COLLEGE)
    _, csrf, _ = _page(client)
    url, header = f"/collect/{SPO}/draft", {"X-CSRF-Token": csrf}
    grid = {"specialities": example_rows()}
    bad = [
        client.post(url, content=b"version=0&data=%7B%7D", headers=header),  # a form, not JSON
        client.post(url, content=b"\xff\xfe{", headers=header),  # not UTF-8
        client.post(url, json=[0, grid], headers=header),  # not an object
        client.post(url, json={"version": "0", "data": grid}, headers=header),  # the version as text
        client.post(url, json={"version": True, "data": grid}, headers=header),
        client.post(url, json={"version": -1, "data": grid}, headers=header),
        client.post(url, json={"version": 0, "data": "{}"}, headers=header),  # the grid as text
    ]
    for answer in bad:
        assert answer.status_code == 400, answer.text
        assert answer.json()["message"] == "Данные формы не прочитаны. Обновите страницу и повторите действие."
    # The token in the body, as a form field, is not the header the route asks for.
    assert client.post(url, json={"version": 0, "data": grid, "csrf": csrf}).status_code == 403
    assert _page(client)[2] == 0  # no draft was made


def test_a_tab_left_open_after_the_report_was_sent_elsewhere_gets_the_conflict(college_site: Site) -> None:
    left = college_site.signed_in(COLLEGE)
    sender = college_site.signed_in(COLLEGE, "10.0.0.2")
    _, csrf1, _ = _page(left)
    assert _save(left, csrf1, example_rows(), 0).json()["version"] == 1
    _, csrf2, version = _page(sender)
    assert _act(sender, csrf2, example_rows(), version, "submit").status_code == 303  # the draft is dropped
    late = _save(left, csrf1, example_rows(), 1)
    assert late.status_code == 409
    assert late.json()["message"].startswith("Черновик уже изменён в другой вкладке или другим пользователем")


def test_a_cell_is_checked_as_the_school_leaves_it(college_site: Site) -> None:
    client = college_site.signed_in(COLLEGE)
    _, csrf, _ = _page(client)

    def check(row: int, field: str, value: str) -> list[str]:
        answer = client.post(f"/collect/{SPO}/cell", data={"csrf": csrf, "sheet": "specialities", "row": str(row),
                                                            "field": field, "value": value})
        assert answer.status_code == 200
        return answer.json()["messages"]

    assert check(2, "2", "7") == [
        "Лист «Специальности», ячейка D7 (графа 2): значение 7 больше допустимого. Введите число не больше 4."]
    assert check(0, "3", "двадцать") == ["Лист «Специальности», ячейка E5 (графа 3): «двадцать» — не число. "
                                         "Введите целое число цифрами, например 25."]
    assert check(0, "1.1", "Астрономия")[0].startswith(
        "Лист «Специальности», ячейка B5 (графа 1.1): значения «Астрономия» нет")
    assert check(0, "2", "3") == [] and check(0, "1.1", "") == []  # an empty cell waits for «Проверить»


def test_a_sum_error_refuses_the_report_at_its_cell_then_the_fixed_one_is_accepted(college_site: Site) -> None:
    client = college_site.signed_in(COLLEGE)
    _, csrf, version = _page(client)
    rows = example_rows()
    rows[1]["3"] = "34"  # 24 + 0 ≠ 34
    refused = _act(client, csrf, rows, version, "submit")
    assert refused.status_code == 422
    assert "<summary>Ошибки (1)</summary>" in refused.text
    assert ('<a href="#c-specialities-1-4">Лист «Специальности», ячейка E6 (графа 3): сумма граф 3.1 и 3.2 '
            '(24 + 0) не равна графе 3 (34).') in refused.text
    assert 'id="c-specialities-1-4" data-field="3" value="34"' in refused.text
    assert college_site.cabinet.warehouse.history(SPO, COLLEGE) == []  # nothing sent

    _, csrf, version = _page(client)
    rows[1]["3"] = "24"
    sent = _act(client, csrf, rows, version, "submit")
    assert sent.status_code == 303
    [row] = college_site.cabinet.warehouse.history(SPO, COLLEGE)
    assert row.outcome == "accepted" and row.file_name == WEB_FILE
    page, _, version = _page(client, sent.headers["location"])
    assert version == 0  # the draft is done with: «Редактировать» opens the accepted data
    assert 'id="c-specialities-1-4" data-field="3" value="24"' in page
    assert "Статус: <strong id=\"school-status\">Сдано</strong>" in page
    receipt = client.get(f"/collect/{SPO}/answers/{row.id}")
    assert receipt.status_code == 200
    sheet = load_workbook(io.BytesIO(receipt.content)).active
    cells = {str(r[0]): r[1] for r in sheet.iter_rows(values_only=True) if r and r[0]}
    assert cells["Статус"] == "Принят" and cells["Номер приёма"] == row.id and cells["Файл"] == WEB_FILE
    assert cells["Лист «Специальности»"] == "5 строк"
    block = client.get(f"/publications/{SPO}").text
    assert "Вы заполнили форму 01.12.2026 10:00 (мск)." in block and "Статус: <strong>Сдано</strong>" in block


def test_a_closed_window_is_read_only(college_site: Site) -> None:
    closed = at(college_site, CLOSED)
    client = closed.signed_in(COLLEGE)
    text, csrf, _ = _page(client)
    assert "Сбор данных закрыт 25 декабря 2026, 18:00 (мск). Форма доступна только для просмотра." in text
    assert "Сдать отчёт" not in text and "Добавить строку" not in text
    assert _save(client, csrf, example_rows(), 0).status_code == 403
    assert _act(client, csrf, example_rows(), 0, "submit").status_code == 403
    block = client.get(f"/publications/{SPO}").text
    stop(closed)
    assert "Закрыт" in block and ">Посмотреть</a>" in block and "Статус: <strong>Не приступало</strong>" in block


def test_only_the_participating_school_opens_the_form(college_site: Site) -> None:
    for login in (A, "mun7702", "reg77", "operator"):
        client = college_site.signed_in(login, "10.0.0.9")
        assert client.get(f"/collect/{SPO}").status_code == 404, login


def test_the_web_and_the_workbook_load_identical_rows(college_site: Site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = college_site.signed_in(COLLEGE)
    _, csrf, version = _page(client)
    rows = example_rows()
    assert _act(client, csrf, rows, version, "submit").status_code == 303
    wh = college_site.cabinet.warehouse
    [web] = wh.history(SPO, COLLEGE)

    settings = college_site.settings
    [college] = wh.organisations([COLLEGE])
    template = render_template(FORM, COLLECTION, college, settings.secret())
    path = tmp_path / "filled.xlsx"
    path.write_bytes(fill(template, {"Специальности": [
        {k: (int(v) if k in ("2", "3", "3.1", "3.2", "4", "5") else v) for k, v in r.items()} for r in rows]},
        worded(FORM, COLLECTION)))
    context = Context.build([COLLECTION], [FORM], {SPO: [COLLEGE]}, settings.secret(), OPEN)
    verdict = judge(path, context, sender=COLLEGE)
    assert verdict.outcome == "accepted", verdict.findings
    book = wh.record(NewSubmission(verdict.sha256, "filled.xlsx", OPEN, verdict.outcome, SPO, COLLEGE,  # type: ignore[arg-type]
                                   FORM.id, FORM.version), verdict.findings, verdict.frames)
    table = wh.tables(FORM)["specialities"]
    with wh.engine.connect() as conn:
        def loaded(submission: int) -> list[tuple[object, ...]]:
            query = sa.select(*[c for c in table.c if c.name != "submission_id"]).where(
                table.c.submission_id == submission).order_by(table.c.row_number)
            return [tuple(r) for r in conn.execute(query)]
        from_web, from_book = loaded(web.id), loaded(book.id)
    assert len(from_web) == 5 and from_web == from_book
    assert from_web[0][1] == NAMES[0]


def test_the_draft_downloaded_in_excel_is_the_same_form(college_site: Site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = college_site.signed_in(COLLEGE)
    _, csrf, version = _page(client)
    rows = example_rows()
    rows[4]["1"] = "=HYPERLINK(\"http://example.com\")"  # typed text stays text in the workbook
    assert _save(client, csrf, rows, version).status_code == 200
    answer = client.get(f"/collect/{SPO}/excel")
    assert answer.status_code == 200
    path = tmp_path / "draft.xlsx"
    path.write_bytes(answer.content)
    settings = college_site.settings
    context = Context.build([COLLECTION], [FORM], {SPO: [COLLEGE]}, settings.secret(), OPEN)
    from_book = judge(path, context, sender=COLLEGE)
    from_web = judge_draft(FORM, COLLECTION, COLLEGE, {"specialities": rows})
    assert from_book.identity is not None and from_book.identity.login == COLLEGE  # signed, the school's own
    assert [(f.code, f.cell, f.message) for f in from_book.findings if f.severity != "note"] == [
        (f.code, f.cell, f.message) for f in from_web.findings if f.severity != "note"]
    assert [f.code for f in from_book.findings if f.severity == "error"] == ["not-in-list"]
    assert from_book.frames["specialities"].equals(from_web.frames["specialities"])


def test_a_warning_answered_is_kept_with_the_submission(college_site: Site) -> None:
    client = college_site.signed_in(COLLEGE)
    _, csrf, version = _page(client)
    rows = example_rows()
    rows[0]["5"] = "20"  # fewer applications than budget places: a warning, not an error
    checked = _act(client, csrf, rows, version, "check")
    key = "Специальности!I5:rule:applications-vs-quota"
    assert "<summary>Предупреждения (1)</summary>" in checked.text and "Ошибки (" not in checked.text
    assert f'data-key="{key}" value=""' in checked.text
    _, csrf, version = _page(client)
    answer = "Набор 2025 года: часть мест отдана по целевому приёму"
    sent = client.post(f"/collect/{SPO}", data={
        "csrf": csrf, "version": str(version), "action": "submit",
        "data": json.dumps({"specialities": rows, "_explanations": {key: answer, "made-up!Z9:x": "ignored"}})})
    assert sent.status_code == 303
    [row] = college_site.cabinet.warehouse.history(SPO, COLLEGE)
    assert row.outcome == "accepted_with_warnings"
    kept = college_site.app.state.collect.explanations.of(row.id)
    assert [(e.worksheet, e.cell, e.code, e.text) for e in kept] == [
        ("Специальности", "I5", "rule:applications-vs-quota", answer)]


def test_the_history_lists_every_transfer_with_its_answer_to_its_school_only(college_site: Site) -> None:
    client = college_site.signed_in(COLLEGE)
    assert "Вы ещё ничего не отправляли" in client.get(f"/collect/{SPO}/history").text
    _, csrf, version = _page(client)
    rows = example_rows()
    rows[1]["3"] = "34"
    assert _act(client, csrf, rows, version, "submit").status_code == 422  # refused: not a transfer
    _, csrf, version = _page(client)
    rows[1]["3"] = "24"
    assert _act(client, csrf, rows, version, "submit").status_code == 303
    [row] = college_site.cabinet.warehouse.history(SPO, COLLEGE)
    page = client.get(f"/collect/{SPO}/history").text
    assert "01.12.2026 10:00 (мск) — веб-форма" in page and "<strong>Принят</strong>" in page
    assert f'href="/collect/{SPO}/answers/{row.id}"' in page
    # Another school reaches neither the page nor the answer, by any collection.
    other = college_site.signed_in(A, "10.0.0.7")
    assert other.get(f"/collect/{SPO}/answers/{row.id}").status_code == 404
    assert other.get(f"/collect/vpr-org-info-2027/answers/{row.id}").status_code == 404
    assert other.get(f"/collect/{SPO}/history").status_code == 404


SCHEDULE = "vpr-spo-schedule-2027"


def test_the_schedule_forms_own_rules_on_the_web(college_site: Site) -> None:
    client = college_site.signed_in(COLLEGE)
    page = client.get(f"/collect/{SCHEDULE}")
    assert page.status_code == 200
    for tab in ("РАБОТЫ НА БЛАНКЕ", "МЕТАПРЕДМЕТ НА КОМПЬЮТЕРЕ", "РАБОТЫ НА КОМПЬЮТЕРЕ"):
        assert 'role="tab" class="tab"' in page.text and f">{tab}</button>" in page.text
    csrf = csrf_of(page.text)

    def day(d: int, subject: str = "Математика") -> dict[str, str]:
        return {"1": subject, "2": f"2027-02-{d:02d}", "3": "1", "4": "20", "5": f"2027-03-{d:02d}",
                "6": "1", "7": "15"}

    paper = [day(d) for d in (1, 2, 3, 4, 5, 8)]  # six days of one subject
    paper[0]["2"] = "31.01.2027"  # typed by hand, the day before the period
    values = {"paper": paper, "meta_computer": [{"1": "не участвует"}], "computer": []}
    checked = client.post(f"/collect/{SCHEDULE}", data={"csrf": csrf, "version": "0", "action": "check",
                                                        "data": json.dumps(values)})
    text = checked.text
    assert "<summary>Ошибки (" in text
    assert ("по предмету «Математика» для категории «Завершившие» указано больше пяти разных дней. Проводите работу "
            "не больше чем в пять дней: оставьте не больше пяти разных дат в графе 5.") in text
    assert re.search(r'<a href="#c-paper-\d-4">Лист «РАБОТЫ НА БЛАНКЕ», ячейка E\d', text)
    assert '<a href="#c-paper-0-1">Лист «РАБОТЫ НА БЛАНКЕ», ячейка B5 (графа 2)' in text  # outside the period
    assert '<a href="#c-computer-0-0">Лист «РАБОТЫ НА КОМПЬЮТЕРЕ», ячейка A5' in text  # an empty sheet must say why

    values = {"paper": [day(d) for d in (1, 2, 3, 4, 5)], "meta_computer": [{"1": "не участвует"}],
              "computer": [{"1": "не участвует"}]}
    version = int(re.search(r'name="version" value="(\d+)"', text).group(1))  # type: ignore[union-attr]
    sent = client.post(f"/collect/{SCHEDULE}", data={"csrf": csrf, "version": str(version), "action": "submit",
                                                     "data": json.dumps(values)})
    assert sent.status_code == 303, sent.text
    [row] = college_site.cabinet.warehouse.history(SCHEDULE, COLLEGE)
    assert row.outcome == "accepted"


def test_started_in_the_browser_continued_in_excel_finished_in_the_browser(college_site: Site) -> None:
    settings = college_site.settings
    college_site.cabinet.warehouse.publish(COLLECTION, FORM, [COLLEGE])
    client = college_site.signed_in(COLLEGE)
    _, csrf, version = _page(client)
    assert _save(client, csrf, example_rows()[:3], version).status_code == 200  # three rows typed on the web
    book = client.get(f"/collect/{SPO}/excel").content
    # In Excel: the last two rows typed, and a slip: 3.1 of the second row 30 (30 + 0 ≠ 24).
    rows = example_rows()
    cells: dict[str, object] = {"F6": 30}
    for i in (3, 4):
        for j, number in enumerate(("1", "1.1", "1.2", "2", "3", "3.1", "3.2", "4", "5", "6")):
            value = rows[i][number]
            cells[f"{'ABCDEFGHIJ'[j]}{5 + i}"] = int(value) if number in ("2", "3", "3.1", "3.2", "4", "5") else value
    (settings.inbox / COLLEGE).mkdir(parents=True, exist_ok=True)
    (settings.inbox / COLLEGE / "специальности.xlsx").write_bytes(set_cells(book, "Специальности", cells))
    # The inbox's own pipeline (what `sbor ingest` runs), on the cabinet's warehouse.
    wh = college_site.cabinet.warehouse
    [sent] = process_batch(settings, wh, load_world(wh, settings), claim_all(settings))
    assert sent.outcome == "rejected" and [f.cell for f in sent.findings if f.severity == "error"] == ["E6"]

    page = client.get(f"/collect/{SPO}").text
    assert "Файл «специальности.xlsx»" in page and "Перенести значения файла в форму" in page
    [row] = college_site.cabinet.warehouse.history(SPO, COLLEGE)
    moved = client.post(f"/collect/{SPO}/from-file/{row.id}", data={"csrf": csrf})
    assert moved.status_code == 200
    assert "Значения файла «специальности.xlsx» перенесены в форму." in moved.text
    assert "<summary>Ошибки (1)</summary>" in moved.text
    assert ('<a href="#c-specialities-1-4">Лист «Специальности», ячейка E6 (графа 3): сумма граф 3.1 и 3.2 '
            '(30 + 0) не равна графе 3 (24).') in moved.text
    assert 'id="c-specialities-1-5" data-field="3.1" value="30"' in moved.text
    assert 'id="c-specialities-4-0" data-field="1" value="43.02.17 Технологии индустрии красоты"' in moved.text

    _, csrf, version = _page(client)
    rows[1]["3.1"] = "24"
    assert _act(client, csrf, rows, version, "submit").status_code == 303
    outcomes = [h.outcome for h in college_site.cabinet.warehouse.history(SPO, COLLEGE)]
    assert outcomes == ["rejected", "accepted"]
    assert "Статус: <strong id=\"school-status\">Сдано</strong>" in client.get(f"/collect/{SPO}").text


def test_a_workbook_uploaded_in_the_cabinet_goes_through_the_inbox_pipeline(college_site: Site) -> None:
    college_site.cabinet.warehouse.publish(COLLECTION, FORM, [COLLEGE])
    client = college_site.signed_in(COLLEGE)
    _, csrf, version = _page(client)
    assert _save(client, csrf, example_rows(), version).status_code == 200
    book = client.get(f"/collect/{SPO}/excel").content
    wrong = set_cells(book, "Специальности", {"F6": 30})

    def send(name: str, data: bytes) -> str:
        answer = client.post(f"/collect/{SPO}/upload", data={"csrf": csrf},
                             files={"file": (name, data, "application/octet-stream")})
        assert answer.status_code == 303, answer.text
        # «Файл принят, проверяется…» until the upload worker has judged it, as the page polls.
        return answered(client, client.get(answer.headers["location"]))

    page = send("C:\\Users\\школа\\отчёт.xlsx", wrong)
    assert "<strong>Не принят: есть ошибки</strong>: файл «отчёт.xlsx»" in page
    [refused] = college_site.cabinet.warehouse.history(SPO, COLLEGE)
    assert refused.login == COLLEGE  # credited to the signed-in sender
    marked = client.get(f"/collect/{SPO}/answers/{refused.id}")
    assert marked.status_code == 200 and marked.headers["content-disposition"].startswith("attachment")
    assert "сумма граф 3.1 и 3.2 (30 + 0) не равна графе 3 (24)" in page  # the findings, on the page

    page = send("отчёт.xlsx", book)
    assert "<strong>Принят</strong>: файл «отчёт.xlsx»" in page
    assert [h.outcome for h in college_site.cabinet.warehouse.history(SPO, COLLEGE)] == ["rejected", "accepted"]
    assert "Статус: <strong>Сдано</strong>" in client.get(f"/publications/{SPO}").text
    assert list((college_site.settings.inbox / COLLEGE).iterdir()) == []  # nothing left waiting


def test_an_accepted_file_newer_than_the_draft_is_what_the_form_shows(college_site: Site) -> None:
    client = college_site.signed_in(COLLEGE)
    _, csrf, version = _page(client)
    rows = example_rows()
    assert _save(client, csrf, rows[:2], version).status_code == 200  # an old draft of two rows
    later = at(college_site, OPEN + timedelta(hours=1))
    other = later.signed_in(COLLEGE, "10.0.0.5")
    _, csrf2, version2 = _page(other)
    assert version2 == 1
    assert _act(other, csrf2, rows, version2, "submit").status_code == 303  # all five rows, an hour later
    # The draft went with the submission; a draft older than an accepted report is not shown.
    college_site.app.state.collect.drafts.save(COLLEGE, SPO, {"specialities": rows[:1]}, 0,
                                                now=OPEN - timedelta(hours=1))
    text, _, version3 = _page(other)
    stop(later)
    assert "Показаны данные последнего принятого отчёта: он новее вашего черновика." in text
    assert 'id="c-specialities-4-0" data-field="1" value="43.02.17 Технологии индустрии красоты"' in text
    assert version3 == 1  # the next save replaces the older draft


def test_the_template_is_the_schools_own_file_and_its_download_is_recorded(college_site: Site) -> None:
    client = college_site.signed_in(COLLEGE)
    first = client.get(f"/collect/{SPO}/template")
    assert first.status_code == 303 and first.headers["location"].startswith("/files/")
    assert client.get(f"/collect/{SPO}/template").headers["location"] == first.headers["location"]  # made once
    book = client.get(first.headers["location"])
    assert book.status_code == 200
    wb = load_workbook(io.BytesIO(book.content))
    assert [c.value for c in wb["Специальности"]["A"][4:9]] == list(NAMES)  # its prefilled rows
    card = client.get(f"/publications/{SPO}").text
    assert f'<a href="{first.headers["location"]}" download>Шаблон формы для заполнения</a>' in card  # in the storage
    college = college_site.cabinet.accounts.get(COLLEGE)
    [stored] = [f for f in college_site.cabinet.storage.visible(college, SPO) if f.owner_login == COLLEGE]
    assert stored.last_download is not None  # recorded, as every download of the storage
