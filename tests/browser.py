"""What the cabinet's browser tests share: Debian's Chromium by path, the cabinet served by
uvicorn on a free port, the axe-core check and the page's console errors. The fixtures here are
registered once, as a plugin, from tests/conftest.py; the modules import `BROWSER`, `served_site`,
`accessible` and `sign_in`."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page
from starlette.types import ASGIApp

from tests.cabinet_site import PASSWORD, Site, close

CHROMIUM = os.environ.get("SBOR_TEST_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "browser_assets" / "axe.min.js"

# Each browser module's pytestmark: without Chromium here (and outside CI) they skip, saying why.
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    # Playwright's own browser download cannot work here: Debian's Chromium, by path.
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture()
def console_errors(page: Page) -> list[str]:
    """Script errors and refusals: a blocked inline script or style (CSP) would show here. A
    page answered 401 (a wrong password) is logged too, and is no error of the page's."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free local port; yields its base URL and stops
    the server on leaving."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the cabinet did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def served_site(site: Site, *before_close: Callable[[], None]) -> Iterator[tuple[Site, str]]:
    """The site served (see serve), then closed: what each browser module's `served` fixture
    yields. before_close lets a site stop its own workers first."""
    try:
        with serve(site.app) as base:
            yield site, base
    finally:
        for stop in before_close:
            stop()
        close(site)


def accessible(page: Page) -> None:
    """axe-core reports no serious or critical violation on the page as it stands."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).join(', ') + ')');
    }""")
    assert found == [], f"{page.url}: {found}"


def sign_in(page: Page, base: str, login: str, password: str = PASSWORD) -> None:
    """The sign-in form filled and sent, as a person does it, from ``/login``."""
    page.goto(base + "/login")
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()
