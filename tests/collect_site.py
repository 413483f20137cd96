"""The cabinet of ``tests.cabinet_site`` with its college teaching the five specialities of the
manual's example (manual 001, Рис. 23), and the example's rows as a school types them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from forms import MOSCOW
from tests.cabinet_site import ORGS, PUBLICATIONS, Site, build_site, close
from web.app import create_app
from web.config import WebSettings

COLLEGE = "spo770004"
SPO = "spo-specialities-2026"
# Inside the window (2026-11-01 12:00 – 2026-12-25 18:00 Moscow), and after it.
OPEN = datetime(2026, 12, 1, 10, 0, tzinfo=MOSCOW)
CLOSED = datetime(2026, 12, 26, 10, 0, tzinfo=MOSCOW)
SPECIALITIES = ("38.02.01", "38.02.05", "40.02.03", "40.02.04", "43.02.17")
NAMES = ("38.02.01 Экономика и бухгалтерский учет (по отраслям)",
         "38.02.05 Товароведение и экспертиза качества потребительских товаров",
         "40.02.03 Право и судебное администрирование", "40.02.04 Юриспруденция",
         "43.02.17 Технологии индустрии красоты")
# Рис. 23: 1.1, 1.2, 2, 3, 3.1, 3.2, 4, 5, 6 of each row.
EXAMPLE = (
    ("Математика", "Математика", "1", "24", "24", "0", "25", "25", "Нет"),
    ("Математика", "Биология", "1", "24", "24", "0", "25", "25", "Нет"),
    ("—", "Математика", "1", "25", "0", "25", "0", "25", "Нет"),
    ("Обществознание", "—", "1", "0", "0", "0", "0", "0", "Нет"),
    ("Химия", "—", "1", "0", "0", "0", "0", "0", "Да"),
)
NUMBERS = ("1.1", "1.2", "2", "3", "3.1", "3.2", "4", "5", "6")


def example_rows() -> list[dict[str, str]]:
    return [{"1": name, **dict(zip(NUMBERS, row, strict=True))} for name, row in zip(NAMES, EXAMPLE, strict=True)]


def at(site: Site, moment: datetime) -> Site:
    """The same site (same database and files) served by a new app whose clock says ``moment``:
    also what a restarted server is."""
    settings = replace(site.settings, fixed_now=moment)
    return Site(settings, site.cabinet, create_app(WebSettings(settings), PUBLICATIONS), site.files)


def collect_site(home: Path, url: str) -> Site:
    site = build_site(home, url)
    college = next(o for o in ORGS if o.login == COLLEGE)
    site.cabinet.warehouse.upsert_organisations([replace(college, specialities=SPECIALITIES)])
    stop(site)
    return at(site, OPEN)


def stop(site: Site) -> None:
    """Close the connections of ``site``'s app (a stopped server)."""
    site.app.state.uploads.stop()
    site.app.state.cab.cabinet.warehouse.engine.dispose()


@pytest.fixture()
def college_site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    built = collect_site(tmp_path, database_url)
    yield built
    close(built)
