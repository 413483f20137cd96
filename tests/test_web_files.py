"""The file storage: who downloads what, Range, every download recorded, the coordinator's
«Отчёт о скачивании» and its workbook, the operator's `sbor files add` and path tricks."""

from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
import sqlalchemy as sa

from flows.cabinet import add_files
from flows.errors import OperatorError
from tests.cabinet_site import PUBLICATIONS, A, B, C, Site, token

COMMON = "Требования к компьютерам.pdf"


def _downloads(site: Site) -> list[tuple[int, str, int, bool]]:
    d = site.cabinet.tables.downloads
    with site.cabinet.warehouse.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(d.c.file_id, d.c.login, d.c.bytes, d.c.finished)
                                                .order_by(d.c.id))]


def _expand(client, pub: str = "vpr-tech-2027") -> str:  # type: ignore[no-untyped-def]
    client.post(f"/publications/{pub}/expanded", data={"csrf": token(client), "back": "/"})
    return client.get(f"/publications/{pub}").text


def test_a_school_downloads_the_common_file_and_its_own_and_each_is_recorded(site: Site) -> None:
    school = site.signed_in(A)
    page = _expand(school)
    assert COMMON in page and f"/files/{site.files[A]}" in page
    assert f"/files/{site.files[B]}" not in page and B not in page  # nor sees another's file
    common = school.get(f"/files/{site.files[COMMON]}")
    assert common.status_code == 200 and common.content == b"%PDF-1.4 common " * 1000
    assert "attachment" in common.headers["content-disposition"]
    own = school.get(f"/files/{site.files[A]}")
    assert own.text == f"логин {A}"
    size = len(b"%PDF-1.4 common " * 1000)
    assert _downloads(site) == [(site.files[COMMON], A, size, True), (site.files[A], A, len(own.content), True)]
    # The page now shows when the school downloaded it.
    assert "Скачано " in school.get("/publications/vpr-tech-2027").text


def test_downloads_resume_with_range_and_a_partial_one_is_not_finished(sqlite_site: Site) -> None:
    school = sqlite_site.signed_in(A)
    url = f"/files/{sqlite_site.files[COMMON]}"
    head = school.get(url, headers={"Range": "bytes=0-99"})
    assert head.status_code == 206 and len(head.content) == 100
    assert head.headers["content-range"] == "bytes 0-99/16000"
    rest = school.get(url, headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and head.content + rest.content == b"%PDF-1.4 common " * 1000
    file_id = sqlite_site.files[COMMON]
    assert _downloads(sqlite_site) == [(file_id, A, 100, False), (file_id, A, 15900, True)]


def test_a_coordinator_sees_its_schools_files_but_cannot_download_them(sqlite_site: Site) -> None:
    coordinator = sqlite_site.signed_in("mun7701")
    page = _expand(coordinator)
    # The set of per-school files is shown with the number of its schools (two in 7701), no links.
    assert "Логины участников" in page
    assert "файлы образовательных организаций (2); каждый доступен для скачивания только своей организации" in page
    assert f'href="/files/{sqlite_site.files[A]}"' not in page and f"/files/{sqlite_site.files[B]}" not in page
    regional = _expand(sqlite_site.signed_in("reg77", "10.0.0.4"))
    assert "файлы образовательных организаций (4)" in regional
    assert coordinator.get(f"/files/{sqlite_site.files[A]}").status_code == 404
    assert coordinator.get(f"/files/{sqlite_site.files[COMMON]}").status_code == 200


def test_the_download_report_shows_each_school_and_file_with_its_time(site: Site) -> None:
    site.signed_in(A).get(f"/files/{site.files[COMMON]}")
    coordinator = site.signed_in("mun7701", "10.0.0.5")
    report = coordinator.get("/publications/vpr-tech-2027/downloads")
    assert report.status_code == 200
    text = report.text
    # Two schools of municipality 7701 × two files; nobody else's schools.
    assert "Строк: 4." in text and B not in text and C not in text
    row = text.split(f"<td>{A}</td>")[1].split("</tr>")[0]
    assert COMMON in text and "не скачивал" in text
    assert row.count("не скачивал") == 0 if COMMON in row else True
    found = coordinator.get("/publications/vpr-tech-2027/downloads", params={"login": A, "file": "Требования"})
    assert "Строк: 1." in found.text and "не скачивал" not in found.text
    none = coordinator.get("/publications/vpr-tech-2027/downloads", params={"login": "edu770002", "file": "Требования"})
    assert "Строк: 1." in none.text and none.text.count("не скачивал") == 2
    book = coordinator.get("/publications/vpr-tech-2027/downloads.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    rows = [r for r in sheet.iter_rows(min_row=6, values_only=True)]
    assert sorted((r[0], r[3]) for r in rows) == sorted((login, title) for login in (A, "edu770002")
                                                        for title in (COMMON, "Логины участников"))
    downloaded = [r for r in rows if r[0] == A and r[3] == COMMON][0]
    assert downloaded[4] is not None and downloaded[4] != "не скачивал"
    assert [r for r in rows if r[0] == "edu770002"][0][4] == "не скачивал"


def test_the_report_pages_and_shows_all(sqlite_site: Site) -> None:
    regional = sqlite_site.signed_in("reg77")
    web = sqlite_site.app.state.cab.web
    object.__setattr__(web, "page_size", 2)  # three edu schools of region 77 × two files
    first = regional.get("/publications/vpr-tech-2027/downloads").text
    assert "Строк: 6." in first and "Страница 1 из 2" in first and "Показать все" in first
    assert first.count("<tr><td>") == 4 and "edu770003" not in first
    second = regional.get("/publications/vpr-tech-2027/downloads", params={"page": "2"}).text
    assert second.count("<tr><td>") == 2 and "edu770003" in second and "Страница 2 из 2" in second
    everything = regional.get("/publications/vpr-tech-2027/downloads", params={"all": "1"}).text
    assert everything.count("<tr><td>") == 6
    # Past the last page: no rows, and the counts still those of the whole report.
    beyond = regional.get("/publications/vpr-tech-2027/downloads", params={"page": "3"}).text
    assert "Строк: 6." in beyond and "Ничего не найдено." in beyond
    # No file by that name: nothing to show for any school.
    no_file = regional.get("/publications/vpr-tech-2027/downloads", params={"file": "нет такого"}).text
    assert "Строк: 0." in no_file and "Ничего не найдено." in no_file


def test_the_star_and_the_collapsed_state_are_kept_per_user(sqlite_site: Site) -> None:
    school = sqlite_site.signed_in(A)
    fragment = school.post("/publications/vpr-tech-2027/favourite", data={"csrf": token(school), "back": "/"},
                           headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Убрать из избранного" in fragment.text
    favourites = school.get("/", params={"section": "Избранные публикации"}).text
    assert "Технические требования к проведению ВПР 2027" in favourites
    assert "Информация об ОО для проведения ВПР 2027" not in favourites
    # Without htmx the same form answers with a redirect back.
    back = school.post("/publications/vpr-tech-2027/expanded", data={"csrf": token(school), "back": "/?section=ВПР"})
    assert back.status_code == 303 and unquote(back.headers["location"]) == "/?section=ВПР"
    assert "Хранилище файлов" in school.get("/").text
    other = sqlite_site.signed_in("edu770002", "10.0.0.8")
    home = other.get("/").text
    assert "Хранилище файлов" not in home and "Добавить в избранное: Технические" in home


@pytest.mark.parametrize("url", [
    "/files/..%2F..%2Fetc%2Fpasswd", "/files/1%2F..%2F2", "/files/-1", "/files/99999999999999999999999",
    "/static/..%2F..%2Fpyproject.toml", "/static/../app.py",
])
def test_path_tricks_reach_nothing(sqlite_site: Site, url: str) -> None:
    response = sqlite_site.signed_in(A).get(url)
    assert response.status_code == 404
    assert b"[project]" not in response.content and b"root:" not in response.content


def test_files_add_refuses_a_folder_with_bad_entries_whole(sqlite_site: Site, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / f"{A}.pdf").write_bytes(b"ok")
    (folder / "readme.txt").write_text("not a login")
    (folder / "edu779999.pdf").write_bytes(b"unknown school")
    os.symlink("/etc/passwd", folder / f"{B}.txt")
    with pytest.raises(OperatorError) as caught:
        add_files(sqlite_site.settings, "vpr-tech-2027", folder, "Плохая папка", publications=PUBLICATIONS)
    message = str(caught.value)
    assert "3 bad entries, nothing added" in message
    assert f"{B}.txt: not a plain file" in message and "readme.txt: name it <login>.<ext>" in message
    assert "edu779999.pdf: no organisation edu779999 in the registry" in message
    files = sqlite_site.cabinet.tables.files
    with sqlite_site.cabinet.warehouse.engine.connect() as conn:
        assert conn.execute(sa.select(files.c.id).where(files.c.title == "Плохая папка")).first() is None
    with pytest.raises(OperatorError, match="no publication 'nope'"):
        add_files(sqlite_site.settings, "nope", folder / f"{A}.pdf", publications=PUBLICATIONS)
