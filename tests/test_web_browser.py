"""The cabinet in a real browser (Debian's Chromium through Playwright): what a new school and
its coordinator do, in the words on the page, with axe-core checking every page we stop on."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect

from tests.cabinet_site import A, PASSWORD, Site, build_site, close
from warehouse.accounts import NewAccount

CHROMIUM = os.environ.get("SBOR_TEST_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "browser_assets" / "axe.min.js"
TECH = "Технические требования к проведению ВПР 2027 в компьютерной форме"
COMMON = "Требования к компьютерам.pdf"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    # Playwright's own browser download cannot work here: Debian's Chromium, by path.
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Site, str]]:
    site = build_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the cabinet did not start"
        time.sleep(0.05)
    try:
        yield site, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        close(site)


@pytest.fixture()
def console_errors(page: Page) -> list[str]:
    """Script errors and refusals: a blocked inline script or style (CSP) would show here. A
    page answered 401 (a wrong password) is logged too, and is no error of the page's."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def accessible(page: Page) -> None:
    """axe-core reports no serious or critical violation on the page as it stands."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).join(', ') + ')');
    }""")
    assert found == [], f"{page.url}: {found}"


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

    page.get_by_label("Логин").fill("mun7701")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
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
    page.goto(base + "/login")
    page.get_by_label("Логин").fill("mun7701")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    for url in ("/", "/publications/vpr-tech-2027", "/publications/vpr-tech-2027/downloads", "/schools"):
        page.goto(base + url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url} is {overflow}px wider than a {width}px screen"
        accessible(page)
