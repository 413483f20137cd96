"""A small cabinet for the web tests: six schools in two regions, their coordinators and the
operator with passwords set, the built-in publications plus two scoped to one region and one
municipality, a common file and per-school files."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from flows.cabinet import add_files, issue_accounts, open_cabinet
from flows.settings import Settings, load_settings
from flows.workspace import open_warehouse
from forms import Organisation, Participants
from forms.publications import Publication, builtin_publications
from warehouse.cabinet import Cabinet
from web.app import create_app
from web.config import WebSettings

PASSWORD = "Пароль-для-тестов-1"
PG_ENV = "SBOR_TEST_POSTGRES_URL"


def org(login: str, region: str, mun: str, name: str, kind: str = "edu") -> Organisation:
    return Organisation(login, f"Полное имя {name}", name, region, f"Регион {region}", mun,
                        f"Муниципалитет {mun}", kind)  # type: ignore[arg-type]


ORGS = (
    org("edu770001", "77", "7701", "Школа 1"),  # A: the school the tests sign in as
    org("edu770002", "77", "7701", "Школа 2"),
    org("edu770003", "77", "7702", "Школа 3"),  # B: same region, another municipality
    org("spo770004", "77", "7702", "Колледж 4", "spo"),
    org("edu500001", "50", "5001", "Школа 5"),  # C: another region
    org("ksh500002", "50", "5001", "Школа-интернат 6", "ksh"),
)
A, B, C = "edu770001", "edu770003", "edu500001"
ONLY_50 = Publication("region-50-only", "Только для региона 50", "ВПР", "Текст для региона 50.",
                      Participants(regions=("50",)))
ONLY_7702 = Publication("mun-7702-only", "Только для муниципалитета 7702", "ВПР", "Текст для 7702.",
                        Participants(municipalities=("7702",)))
PUBLICATIONS = (*builtin_publications(), ONLY_50, ONLY_7702)
ROLES = {"school": A, "municipal": "mun7701", "regional": "reg77", "operator": "operator"}


@dataclass
class Site:
    settings: Settings
    cabinet: Cabinet
    app: FastAPI
    files: dict[str, int]  # a name for each stored file → its id

    def client(self, address: str = "10.0.0.1") -> TestClient:
        return TestClient(self.app, client=(address, 50000), follow_redirects=False)

    def signed_in(self, login: str, address: str = "10.0.0.1") -> TestClient:
        client = self.client(address)
        response = sign_in(client, login, PASSWORD)
        assert response.status_code == 303 and response.headers["location"] == "/", response.text
        return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, login: str, secret: str) -> object:
    page = client.get("/login")
    return client.post("/login", data={"login": login, "password": secret, "csrf": csrf_of(page.text), "next": "/"})


def token(client: TestClient) -> str:
    return csrf_of(client.get("/", follow_redirects=True).text)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    schema = f"cab_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def build_site(home: Path, url: str) -> Site:
    (home / "var").mkdir(parents=True, exist_ok=True)
    settings = load_settings(home, url, env={"SBOR_SECRET": "test-secret"})
    wh = open_warehouse(settings)
    wh.upsert_organisations(list(ORGS))
    wh.engine.dispose()
    issue_accounts(settings)
    cabinet = open_cabinet(settings)
    for login in (*[o.login for o in ORGS], "mun7701", "mun7702", "reg77", "reg50", "mun5001", "operator"):
        cabinet.accounts.set_password(login, PASSWORD)
    source = home / "source"
    (source / "logins").mkdir(parents=True)
    (source / "Требования к компьютерам.pdf").write_bytes(b"%PDF-1.4 common " * 1000)
    for o in ORGS:
        (source / "logins" / f"{o.login}.txt").write_text(f"логин {o.login}", encoding="utf-8")
    (source / "region50.pdf").write_bytes(b"%PDF-1.4 region 50")
    add_files(settings, "vpr-tech-2027", source / "Требования к компьютерам.pdf", publications=PUBLICATIONS)
    add_files(settings, "vpr-tech-2027", source / "logins", "Логины участников", publications=PUBLICATIONS)
    add_files(settings, "region-50-only", source / "region50.pdf", publications=PUBLICATIONS)
    f = cabinet.tables.files
    with cabinet.warehouse.engine.connect() as conn:
        files = {owner or name: file_id for file_id, owner, name in conn.execute(
            sa.select(f.c.id, f.c.owner_login, f.c.name))}
    app = create_app(WebSettings(settings), PUBLICATIONS)
    return Site(settings, cabinet, app, files)


def close(site: Site) -> None:
    site.app.state.uploads.stop()  # the upload worker finishes what is queued, then lets go of its database
    site.cabinet.warehouse.engine.dispose()
    site.app.state.cab.cabinet.warehouse.engine.dispose()


@pytest.fixture()
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    built = build_site(tmp_path, database_url)
    yield built
    close(built)


@pytest.fixture()
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    built = build_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}")
    yield built
    close(built)
