"""Monitoring in a real browser (Debian's Chromium), as a regional coordinator: the counts, the
participants filtered to «Не приступал», a school's data, the results export asked for, its
notification arriving without a reload and the workbook downloaded; axe-core on every page."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser import BROWSER, accessible, served_site, sign_in
from tests.cabinet_site import Site
from tests.collect_site import COLLEGE, NAMES
from tests.monitor_site import EXPLANATION, build_explained_site, build_monitored_site, prefect_api  # noqa: F401

pytestmark = BROWSER
TITLE = "Информация об ОО для проведения ВПР 2027. Для образовательных организаций"


@pytest.fixture()
def served(tmp_path: Path, prefect_api: str) -> Iterator[tuple[Site, str]]:  # noqa: F811
    site = build_monitored_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}")
    with served_site(site, site.app.state.reports.close) as served:
        yield served


def test_a_regional_coordinator_monitors_and_exports(served: tuple[Site, str], page: Page,
                                                     console_errors: list[str]) -> None:
    site, base = served
    sign_in(page, base, "reg77")
    page.get_by_role("link", name="Мониторинг").click()
    expect(page.get_by_role("heading", name="Мониторинг сбора данных")).to_be_visible()
    accessible(page)
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", name="Общая статистика")).to_be_visible()
    counts = page.locator(".counts .count")
    expect(counts).to_have_text(["Всего5", "Не приступило2", "В работе1", "Сдано2"])
    accessible(page)

    page.get_by_role("link", name="Список участников").click()
    page.get_by_label("Статус").select_option(label="Не приступило")
    page.get_by_role("button", name="Показать").click()
    rows = page.get_by_role("row").filter(has_text="Не приступило")
    expect(rows).to_have_count(2)
    expect(page.get_by_text("Найдено организаций: 2.")).to_be_visible()
    accessible(page)
    page.get_by_role("link", name="Открыть данные: edu770005").click()
    expect(page.get_by_role("heading", name="Школа 7 (edu770005)")).to_be_visible()
    expect(page.get_by_text("Файлов и отправок веб-формы от организации не поступало.")).to_be_visible()
    accessible(page)
    page.go_back()
    page.get_by_label("Статус").select_option("Сдано")
    page.get_by_role("button", name="Показать").click()
    page.get_by_role("link", name="Открыть данные: edu770001").click()
    # The form's own card, read-only.
    answer = page.get_by_label("2. ФИО ответственного за проведение ВПР")
    expect(answer).to_have_value("Иванов Иван (edu770001)")
    expect(answer).not_to_be_editable()
    accessible(page)

    page.get_by_role("link", name="← Список участников").click()
    page.get_by_role("link", name=f"← {TITLE}").click()
    page.get_by_role("button", name="Экспорт результатов").click()
    expect(page.get_by_role("status").filter(has_text="формируется")).to_be_visible()
    accessible(page)
    # The bell, polled every 5 s, tells without a reload.
    expect(page.locator("#bell .badge")).to_have_text("1", timeout=240_000)
    made = site.app.state.reports.requests.get(1)
    assert made is not None and made.state == "ready", made.error if made else None
    expect(page.locator("#bell")).to_contain_text("готов")
    page.locator("#bell").click()
    expect(page.get_by_role("heading", name="Мои отчёты")).to_be_visible()
    accessible(page)
    with page.expect_download() as caught:
        page.get_by_role("link", name="Скачать отчёт № 1").click()
    wb = load_workbook(io.BytesIO(Path(caught.value.path()).read_bytes()), read_only=True)
    values = {str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v}
    assert {"edu770001", "edu770003"} <= values and "edu500001" not in values
    assert console_errors == []


@pytest.fixture()
def explained(tmp_path: Path) -> Iterator[tuple[Site, str]]:
    site = build_explained_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}")
    with served_site(site, site.app.state.reports.close) as served:
        yield served


def test_a_regional_coordinator_reads_a_schools_answers_and_its_explanation(
        explained: tuple[Site, str], page: Page, console_errors: list[str]) -> None:
    _, base = explained
    sign_in(page, base, "reg77")
    page.get_by_role("link", name="Мониторинг").click()
    page.get_by_role("link", name="Информация об ОО, реализующих программы СПО", exact=False).click()
    page.get_by_role("link", name="Список участников").click()
    page.get_by_role("link", name=f"Открыть данные: {COLLEGE}").click()
    expect(page.get_by_role("heading", name=f"Колледж 4 ({COLLEGE})")).to_be_visible()
    # The values in the form's own grid, read-only; the school's explanation beside its warning.
    first = page.get_by_label("1. Код и название профессии/ специальности, строка 1")
    expect(first).to_have_value(NAMES[0])
    expect(first).not_to_be_editable()
    applications = page.get_by_label(re.compile(r"^5\. Кол-во поданных заявлений.*, строка 1$"))
    expect(applications).to_have_value("20")
    warnings = page.get_by_role("region", name="Предупреждения принятого отчёта")
    expect(warnings).to_contain_text("заявлений (20) меньше, чем бюджетных мест (25)")
    expect(warnings).to_contain_text(f"Пояснение организации: «{EXPLANATION}»")
    # The warning at its input too, as the school's form page shows it.
    expect(applications).to_have_accessible_description(re.compile(r"заявлений \(20\) меньше"))
    expect(page.get_by_role("button", name="Сдать отчёт")).to_have_count(0)
    accessible(page)
    assert console_errors == []


def test_the_operator_marks_a_collection_and_a_coordinator_gets_the_group_report(
        served: tuple[Site, str], page: Page, console_errors: list[str]) -> None:
    site, base = served
    sign_in(page, base, "operator")
    page.get_by_role("link", name="Мониторинг").click()  # the operator's pages are in its navigation there
    page.get_by_role("link", name="Публикации и файлы").click()
    expect(page.get_by_role("heading", name="Публикации и файлы")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Логины участников")).to_be_visible()
    accessible(page)
    page.get_by_role("link", name="Сборы данных").click()
    page.get_by_role("button", name="Разрешить в групповом отчёте: vpr-org-info-2027").click()
    expect(page.get_by_role("button", name="Исключить из группового отчёта: vpr-org-info-2027")).to_be_visible()
    accessible(page)
    page.get_by_role("button", name="Выйти").click()

    sign_in(page, base, "reg77")
    page.get_by_role("link", name="Мониторинг").click()
    page.get_by_role("checkbox", name=re.compile(TITLE)).check()
    page.get_by_role("radio", name="все").check()
    accessible(page)
    page.get_by_role("button", name="Групповой отчёт").click()
    expect(page.get_by_role("status").filter(has_text="Групповой отчёт")).to_contain_text("формируется")
    expect(page.locator("#bell .badge")).to_have_text("1", timeout=240_000)
    page.locator("#bell").click()
    with page.expect_download() as caught:
        page.get_by_role("link", name=re.compile(r"Скачать отчёт № \d+")).first.click()
    wb = load_workbook(io.BytesIO(Path(caught.value.path()).read_bytes()), read_only=True)
    logins = {row[2] for row in wb["Статусы"].iter_rows(min_row=2, values_only=True) if row and row[2]}
    assert logins == {"edu770001", "edu770002", "edu770003", "edu770005", "edu770006"}
    assert console_errors == []
