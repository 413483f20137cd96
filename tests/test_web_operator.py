"""The operator's view: every collection with counts per region, every account searched, blocked
and unblocked with the cabinet's own actions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cabinet_site import PASSWORD, A, Site, close, sign_in, token
from tests.monitor_site import COLLECTION_ID, build_monitored_site


@pytest.fixture()
def msite(tmp_path: Path) -> Iterator[Site]:
    built = build_monitored_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}")
    yield built
    close(built)


def test_the_operator_sees_every_collection_per_region(msite: Site) -> None:
    operator = msite.signed_in("operator")
    overview = operator.get("/monitor").text
    assert COLLECTION_ID in overview and "<dt>Всего</dt><dd>7</dd>" in overview
    page = operator.get(f"/monitor/{COLLECTION_ID}").text
    assert re.search(r"Регион 77 \(77\)</th><td>5</td><td>2</td><td>1</td><td>2</td>", page)
    assert re.search(r"Регион 50 \(50\)</th><td>2</td><td>1</td><td>0</td><td>1</td>", page)
    # The same lines on the operator's own collections page, beside the group-report mark.
    listed = operator.get("/operator/collections").text
    assert re.search(r"Регион 77 \(77\)</th><td>5</td><td>2</td><td>1</td><td>2</td>", listed)
    assert "Групповой отчёт: <strong>не включается</strong>" in listed


def test_accounts_searched_blocked_and_unblocked(msite: Site) -> None:
    operator = msite.signed_in("operator")
    found = operator.get("/operator/accounts", params={"q": "7701"}).text
    assert re.findall(r"<tr><td>([a-z0-9]+)</td>", found) == ["mun7701"]
    assert "Муниципальный координатор" in found
    schools = operator.get("/operator/accounts", params={"q": "EDU7700"}).text
    assert re.findall(r"<tr><td>([a-z0-9]+)</td>", schools) == ["edu770001", "edu770002", "edu770003"]
    by_name = operator.get("/operator/accounts", params={"q": "школа 1"}).text
    assert re.findall(r"<tr><td>([a-z0-9]+)</td>", by_name) == [A]
    coordinators = operator.get("/operator/accounts", params={"role": "regional"}).text
    assert re.findall(r"<tr><td>([a-z0-9]+)</td>", coordinators) == ["reg50", "reg77"]
    assert operator.post("/accounts/mun7701/block", data={"csrf": token(operator)}).status_code == 200
    assert "заблокирована" in operator.get("/operator/accounts", params={"q": "mun7701"}).text
    refused = msite.client("10.0.0.4")
    assert sign_in(refused, "mun7701", PASSWORD).status_code != 303  # type: ignore[attr-defined]
    assert operator.post("/accounts/mun7701/unblock", data={"csrf": token(operator)}).status_code == 200
    assert sign_in(msite.client("10.0.0.5"), "mun7701", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_the_operator_sees_every_publications_files_and_their_downloads(msite: Site) -> None:
    common = msite.files["Требования к компьютерам.pdf"]
    school = msite.signed_in(A, "10.0.0.6")
    assert school.get(f"/files/{common}").status_code == 200
    assert school.get(f"/files/{common}").status_code == 200
    assert school.get(f"/files/{msite.files[A]}").status_code == 200  # its own logins file
    assert msite.signed_in("edu770002", "10.0.0.7").get(f"/files/{common}").status_code == 200
    operator = msite.signed_in("operator")
    assert "Публикации и файлы" in operator.get("/monitor").text  # in the operator's navigation
    page = operator.get("/operator/publications").text
    section = page[page.index('id="p-vpr-tech-2027"'):]
    section = section[:section.index("</section>")]
    # The common file: its size (16,000 bytes), three downloads by two schools.
    assert re.search(r"Требования к компьютерам\.pdf</a></th><td>15,6 КБ</td><td>[0-9.: ]+</td>"
                     r"<td>3</td><td>2</td>", section), section
    # The per-school set: a file for each of the site's six schools, one of them fetched once.
    assert re.search(r"Логины участников</th><td>6</td><td>[0-9]+ Б</td><td>[0-9.: ]+</td><td>1</td>"
                     r"<td>1 из 6</td>", section), section
    other = page[page.index('id="p-region-50-only"'):]
    assert "region50.pdf" in other[:other.index("</section>")]


OPERATOR_PAGES = {"/operator/collections": "Сборы данных", "/operator/publications": "Публикации и файлы",
                  "/operator/accounts": "Учётные записи"}


def nav_links(html: str) -> dict[str, str]:
    """The links of the page's «Разделы» navigation, by address."""
    nav = html.split('<nav class="sections" aria-label="Разделы">', 1)[1].split("</nav>", 1)[0]
    return dict(re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav))


def test_the_operators_pages_are_linked_from_the_home_page(msite: Site) -> None:
    operator = msite.signed_in("operator")
    links = nav_links(operator.get("/").text)
    assert OPERATOR_PAGES.items() <= links.items()
    for href in OPERATOR_PAGES:
        assert operator.get(href).status_code == 200
    # A coordinator's home page does not offer pages it may not open.
    regional = msite.signed_in("reg77", "10.0.0.7")
    assert not OPERATOR_PAGES.keys() & nav_links(regional.get("/").text).keys()
