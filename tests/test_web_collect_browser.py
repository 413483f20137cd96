"""The SPO specialities form in a real browser (Debian's Chromium through Playwright): the
manual's own example rows (manual 001, Рис. 23) typed in, a sum error seen in «Ошибки» and
followed to its cell, fixed, the report sent and its receipt downloaded; axe-core on the form."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser import BROWSER, accessible, served_site, sign_in
from tests.cabinet_site import Site
from tests.collect_site import COLLEGE, EXAMPLE, SPO, collect_site

pytestmark = BROWSER


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Site, str]]:
    site = collect_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}")
    with served_site(site) as served:
        yield served


def cell(page: Page, row: int, position: int):  # type: ignore[no-untyped-def]
    return page.locator(f"#c-specialities-{row}-{position}")


def type_row(page: Page, row: int, values: tuple[str, ...]) -> None:
    """Fields 1.1 … 6 of a prefilled row, as the school picks and types them."""
    for position, value in enumerate(values, start=1):
        target = cell(page, row, position)
        if target.evaluate("e => e.tagName") == "SELECT":
            target.select_option(value)
        else:
            target.fill(value)


def test_the_specialities_form_from_the_manual(served: tuple[Site, str], page: Page,
                                               console_errors: list[str]) -> None:
    site, base = served
    sign_in(page, base, COLLEGE)
    page.goto(base + f"/publications/{SPO}")
    expect(page.get_by_text("Статус: Не приступал")).to_be_visible()
    page.get_by_role("link", name="Заполнить").click()
    expect(page.get_by_role("heading", name="Специальности")).to_be_visible()
    accessible(page)

    # The college's specialities are already there, as in its template; the rest is typed.
    expect(cell(page, 0, 0)).to_have_value("38.02.01 Экономика и бухгалтерский учет (по отраслям)")
    for row, values in enumerate(EXAMPLE):
        wrong = list(values)
        if row == 1:
            wrong[3] = "34"  # 3 ≠ 3.1 + 3.2
        type_row(page, row, tuple(wrong))
    # A cell's own check as it is left; then corrected.
    cell(page, 2, 3).fill("7")
    cell(page, 2, 3).press("Tab")
    expect(page.locator("#e-c-specialities-2-3")).to_have_text(
        "Лист «Специальности», ячейка D7 (графа 2): значение 7 больше допустимого. Введите число не больше 4.")
    cell(page, 2, 3).fill("1")
    cell(page, 2, 3).press("Tab")
    expect(page.locator("#e-c-specialities-2-3")).to_be_hidden()
    # Rows come and go up to the sheet's limit; the draft is saved as the school types.
    page.get_by_role("button", name="Добавить строку").click()
    expect(page.locator("section#sheet-specialities tbody tr")).to_have_count(6)
    page.get_by_role("button", name="Удалить строку 6").click()
    expect(page.locator("section#sheet-specialities tbody tr")).to_have_count(5)
    expect(page.locator("#last-change")).to_contain_text("Последнее изменение:")

    page.get_by_role("button", name="Сдать отчёт").click()
    errors = page.locator("details.errors")
    expect(errors.locator("summary")).to_have_text("Ошибки (1)")
    link = errors.get_by_role("link")
    expect(link).to_have_text("Лист «Специальности», ячейка E6 (графа 3): сумма граф 3.1 и 3.2 (24 + 0) не равна "
                              "графе 3 (34). Исправьте графу 3 или графы 3.1 и 3.2.")
    accessible(page)
    link.click()
    expect(cell(page, 1, 4)).to_be_focused()
    expect(cell(page, 1, 4)).to_have_attribute("aria-invalid", "true")
    cell(page, 1, 4).fill("24")
    page.get_by_role("button", name="Сдать отчёт").click()

    expect(page.locator("#school-status")).to_have_text("Сдано")
    with page.expect_download() as caught:
        page.get_by_role("link", name="Скачать квитанцию").click()
    sheet = load_workbook(io.BytesIO(Path(caught.value.path()).read_bytes())).active
    pairs = {str(r[0]): r[1] for r in sheet.iter_rows(values_only=True) if r and r[0]}
    assert pairs["Статус"] == "Принят" and pairs["Лист «Специальности»"] == "5 строк"
    [sent] = site.cabinet.warehouse.history(SPO, COLLEGE)
    assert sent.accepted and pairs["Номер приёма"] == sent.id
    assert console_errors == []


def sign_in_college(page: Page, base: str) -> None:
    sign_in(page, base, COLLEGE)
    expect(page.get_by_role("button", name="Выйти")).to_be_visible()


def test_two_tabs_conflict_visibly(served: tuple[Site, str], page: Page) -> None:
    site, base = served
    sign_in_college(page, base)
    page.goto(base + f"/collect/{SPO}")
    other = page.context.new_page()
    other.goto(base + f"/collect/{SPO}")
    cell(page, 0, 3).fill("1")
    expect(page.locator("#last-change")).to_contain_text("Последнее изменение:")
    cell(other, 0, 3).fill("2")
    conflict = other.get_by_role("alert").filter(has_text="Черновик уже изменён")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("Ваши последние изменения не сохранены")
    # The first tab's value stands.
    draft = site.app.state.collect.drafts.get(COLLEGE, SPO)
    assert draft is not None and draft.values["specialities"][0]["2"] == "1"


def test_the_keyboard_moves_as_in_a_spreadsheet(served: tuple[Site, str], page: Page) -> None:
    """Tab along a row, Enter and Shift+Enter down and up a column, arrows between cells (Left and
    Right only from the caret's ends); a select keeps its own arrows, Ctrl+arrow leaves it."""
    _, base = served
    sign_in_college(page, base)
    page.goto(base + f"/collect/{SPO}")
    keys = page.keyboard
    cell(page, 0, 3).fill("1")
    keys.press("Tab")
    expect(cell(page, 0, 4)).to_be_focused()
    keys.type("24")
    keys.press("Enter")
    expect(cell(page, 1, 4)).to_be_focused()
    keys.press("Shift+Enter")
    expect(cell(page, 0, 4)).to_be_focused()
    keys.press("ArrowDown")
    expect(cell(page, 1, 4)).to_be_focused()
    keys.press("ArrowUp")
    expect(cell(page, 0, 4)).to_be_focused()
    # The caret is at the end of «24»: Left walks through the text first, then leaves the cell.
    keys.press("ArrowLeft")
    keys.press("ArrowLeft")
    expect(cell(page, 0, 4)).to_be_focused()
    keys.press("ArrowLeft")
    expect(cell(page, 0, 3)).to_be_focused()
    keys.press("ArrowRight")  # at the end of «1»
    expect(cell(page, 0, 4)).to_be_focused()
    keys.press("ArrowUp")  # the first row: nowhere to go
    expect(cell(page, 0, 4)).to_be_focused()
    # A select (graph 1.2): its arrows change its value and keep the focus; Ctrl+arrow moves on.
    select = cell(page, 0, 2)
    assert select.evaluate("e => e.tagName") == "SELECT"
    select.focus()
    before = select.input_value()
    keys.press("ArrowDown")
    expect(select).to_be_focused()
    expect(select).not_to_have_value(before)
    keys.press("Control+ArrowDown")
    expect(cell(page, 1, 2)).to_be_focused()
    keys.press("Control+ArrowRight")
    expect(cell(page, 1, 3)).to_be_focused()
    # What was typed through the keyboard is the draft's.
    expect(page.locator("#last-change")).to_contain_text("Последнее изменение:")
    expect(cell(page, 0, 4)).to_have_value("24")


def test_the_three_sheet_schedule_form(served: tuple[Site, str], page: Page, console_errors: list[str]) -> None:
    site, base = served
    sign_in_college(page, base)
    page.goto(base + "/collect/vpr-spo-schedule-2027")
    tabs = page.get_by_role("tab")
    expect(tabs).to_have_count(3)
    expect(page.locator("#sheet-paper")).to_be_visible()
    expect(page.locator("#sheet-computer")).to_be_hidden()
    accessible(page)
    page.locator("#c-paper-0-0").select_option("Математика")
    page.locator("#c-paper-0-1").fill("2027-02-10")
    for position, value in ((2, "2"), (3, "40"), (5, "1"), (6, "12")):
        page.locator(f"#c-paper-0-{position}").fill(value)
    page.locator("#c-paper-0-4").fill("2027-03-10")
    page.get_by_role("tab", name="МЕТАПРЕДМЕТ НА КОМПЬЮТЕРЕ").click()
    page.locator("#c-meta_computer-0-0").select_option("не участвует")
    page.get_by_role("button", name="Проверить").click()

    # The one error is on the third sheet: its link opens that tab at the cell.
    link = page.locator("details.errors").get_by_role("link")
    expect(link).to_have_count(1)
    expect(link).to_contain_text("Лист «РАБОТЫ НА КОМПЬЮТЕРЕ», ячейка A5")
    accessible(page)
    link.click()
    expect(page.get_by_role("tab", name="РАБОТЫ НА КОМПЬЮТЕРЕ")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#c-computer-0-0")).to_be_focused()
    page.locator("#c-computer-0-0").select_option("не участвует")
    page.get_by_role("button", name="Сдать отчёт").click()
    expect(page.locator("#school-status")).to_have_text("Сдано")
    [sent] = site.cabinet.warehouse.history("vpr-spo-schedule-2027", COLLEGE)
    assert sent.outcome == "accepted"
    assert console_errors == []


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_the_form_pages_fit_the_screen(served: tuple[Site, str], page: Page, width: int, height: int) -> None:
    _, base = served
    page.set_viewport_size({"width": width, "height": height})
    sign_in_college(page, base)
    for url in (f"/publications/{SPO}", f"/collect/{SPO}", f"/collect/{SPO}/history",
                "/collect/vpr-spo-schedule-2027"):
        page.goto(base + url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url} is {overflow}px wider than a {width}px screen"
        accessible(page)
