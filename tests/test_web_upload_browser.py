"""Excel through the cabinet in a real browser (Debian's Chromium): the school downloads its
template, fills it as a spreadsheet program would, uploads it, and sees «Файл принят,
проверяется…» turn into the outcome and the receipt; axe-core on each new page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import BROWSER, accessible, served_site, sign_in
from tests.cabinet_site import A, B, Site, build_site
from tests.upload_site import COLLECTION, filled, publish

TITLE = "Информация об ОО для проведения ВПР 2027. Для образовательных организаций"

pytestmark = BROWSER


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Site, str]]:
    site = publish(build_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}"))
    with served_site(site) as served:
        yield served


def _sign_in(page: Page, base: str, login: str) -> None:
    sign_in(page, base, login)
    expect(page.locator(".who")).to_contain_text(login)


def test_a_school_downloads_its_template_uploads_it_filled_and_sees_the_outcome(
        served: tuple[Site, str], page: Page, console_errors: list[str], tmp_path: Path) -> None:
    site, base = served
    _sign_in(page, base, A)
    page.goto(base + f"/publications/{COLLECTION}")
    expect(page.get_by_text("Статус: Не приступал")).to_be_visible()
    with page.expect_download() as caught:
        page.get_by_role("link", name="Скачать шаблон").click()
    template = Path(caught.value.path()).read_bytes()
    page.get_by_role("link", name="История отправок и загрузка файла").click()
    expect(page.get_by_role("heading", name="История отправок")).to_be_visible()
    accessible(page)
    outcome = page.locator("#outcome-box")

    big = tmp_path / "большой.xlsx"
    big.write_bytes(b"0" * (11 * 2**20))
    page.get_by_label("Заполненный шаблон Excel").set_input_files(big)
    page.get_by_role("button", name="Загрузить файл").click()
    expect(outcome).to_contain_text("Файл слишком большой: принимаются файлы не больше 10 МБ")

    wrong = tmp_path / "чужой шаблон.xlsx"
    wrong.write_bytes(filled((site.settings.templates_dir / COLLECTION / f"{B}.xlsx").read_bytes(), B))
    page.get_by_label("Заполненный шаблон Excel").set_input_files(wrong)
    page.get_by_role("button", name="Загрузить файл").click()
    expect(outcome).to_contain_text("Не принят: есть ошибки", timeout=30_000)
    expect(page.get_by_role("link", name="Скачать файл с отмеченными ошибками")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=B).first).to_be_visible()
    accessible(page)

    mine = tmp_path / "Информация об ОО.xlsx"
    mine.write_bytes(filled(template, A))
    page.get_by_label("Заполненный шаблон Excel").set_input_files(mine)
    page.get_by_role("button", name="Загрузить файл").click()
    expect(outcome).to_contain_text("Принят", timeout=30_000)
    with page.expect_download() as receipt:
        outcome.get_by_role("link", name="Скачать квитанцию").click()
    assert receipt.value.suggested_filename.startswith("квитанция-")
    accessible(page)

    page.reload()  # the history lists both files, newest first
    expect(page.get_by_role("heading").filter(has_text=mine.name)).to_be_visible()
    expect(page.get_by_role("heading").filter(has_text=wrong.name)).to_be_visible()
    accessible(page)
    page.goto(base + f"/publications/{COLLECTION}")
    expect(page.get_by_text("Статус: Сдано")).to_be_visible()
    assert console_errors == []
