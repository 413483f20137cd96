"""The cabinet in a real browser (Debian's Chromium through Playwright): what a new school and
its coordinator do, in the words on the page, with axe-core checking every page we stop on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import BROWSER, accessible, served_site, sign_in
from tests.cabinet_site import A, Site, build_site
from warehouse.accounts import NewAccount

TECH = "Технические требования к проведению ВПР 2027 в компьютерной форме"
COMMON = "Требования к компьютерам.pdf"

pytestmark = BROWSER


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Site, str]]:
    site = build_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}")
    with served_site(site) as served:
        yield served


def test_a_new_school_and_its_coordinator(served: tuple[Site, str], page: Page, console_errors: list[str]) -> None:
    site, base = served
    [(_, code)] = site.cabinet.accounts.issue([NewAccount(A, "school", "77", "7701", "Школа 1")], reissue=True)

    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    accessible(page)
    page.get_by_label("Логин").fill(A)
    page.get_by_label("Пароль").fill("not-the-code")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("alert")).to_have_text("Неверный логин или пароль")
    page.get_by_label("Пароль").fill(code)
    page.get_by_role("button", name="Войти").click()

    expect(page.get_by_role("heading", name="Задайте пароль")).to_be_visible()
    accessible(page)
    page.get_by_label("Новый пароль").fill("Школьный-пароль-2027")
    page.get_by_label("Повторите пароль").fill("Школьный-пароль-2027")
    page.get_by_role("button", name="Сохранить пароль").click()

    expect(page.locator(".who")).to_contain_text(A)
    expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    page.get_by_role("link", name="ВПР", exact=True).click()
    expect(page.get_by_role("heading", name=TECH)).to_be_visible()
    accessible(page)

    page.get_by_role("button", name=f"Добавить в избранное: {TECH}").click()
    expect(page.get_by_role("button", name=f"Убрать из избранного: {TECH}")).to_be_visible()
    page.get_by_role("button", name=f"Развернуть: {TECH}").click()
    expect(page.get_by_role("heading", name="Хранилище файлов")).to_be_visible()
    accessible(page)
    with page.expect_download() as caught:
        page.get_by_role("link", name=COMMON).click()
    assert Path(caught.value.path()).read_bytes() == b"%PDF-1.4 common " * 1000
    page.get_by_role("button", name=f"Свернуть: {TECH}").click()
    expect(page.get_by_role("heading", name="Хранилище файлов")).to_have_count(0)

    # Both states are the server's: a fresh page shows them as left.
    page.get_by_role("link", name="★ Избранные публикации").click()
    expect(page.get_by_role("heading", name=TECH)).to_be_visible()
    expect(page.get_by_role("button", name=f"Развернуть: {TECH}")).to_be_visible()
    page.get_by_role("button", name="Выйти").click()

    sign_in(page, base, "mun7701")
    page.get_by_role("link", name=TECH).click()
    page.get_by_role("link", name="Отчёт о скачивании").click()
    expect(page.get_by_role("heading", name="Отчёт о скачивании")).to_be_visible()
    accessible(page)
    page.get_by_label("Логин").fill(A)
    page.get_by_label("Файл").fill("Требования")
    page.get_by_role("button", name="Найти").click()
    row = page.get_by_role("row").filter(has_text=A)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(COMMON)
    expect(row).to_contain_text(re.compile(r"\d\d\.\d\d\.\d{4} \d\d:\d\d"))
    assert console_errors == []


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_pages_fit_the_screen(served: tuple[Site, str], page: Page, width: int, height: int) -> None:
    site, base = served
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, base, "mun7701")
    for url in ("/", "/publications/vpr-tech-2027", "/publications/vpr-tech-2027/downloads", "/schools"):
        page.goto(base + url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url} is {overflow}px wider than a {width}px screen"
        accessible(page)
