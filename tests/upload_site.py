"""The cabinet's test site with the ВПР «Информация об ОО» collection published to its schools, as
`sbor publish` leaves it (registered, one template per school in outbox/templates/), on a fixed
clock inside the collection's window, and helpers to upload and wait for the answer."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from flows.settings import parse_moment
from flows.simulate import card_row
from flows.workspace import open_warehouse
from flows.writing import write_templates
from forms import builtin_forms
from forms.collection import load_collection
from forms.publications import COLLECTIONS_DIR
from templates import TemplateFactory
from tests.cabinet_site import ORGS, PUBLICATIONS, Site, build_site, close, csrf_of
from tests.workbooks import fill
from web.app import create_app
from web.config import WebSettings

COLLECTION = "vpr-org-info-2027"
NOW = "2026-12-01 10:00"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def publish(site: Site) -> Site:
    """Publish the collection to the site's edu and ksh schools and serve the app on a clock
    inside its window."""
    settings = replace(site.settings, fixed_now=parse_moment(NOW, "now"))
    collection = load_collection(COLLECTIONS_DIR / "vpr_org_info_2027.yaml")
    form = builtin_forms()[collection.form_id]
    orgs = [o for o in ORGS if o.kind in ("edu", "ksh")]
    wh = open_warehouse(settings)
    wh.publish(collection, form, [o.login for o in orgs])
    wh.engine.dispose()
    write_templates(TemplateFactory(form, collection, settings.secret()), orgs,
                    settings.templates_dir / collection.id, None, 1)
    site.app.state.cab.cabinet.warehouse.engine.dispose()
    return replace(site, settings=settings, app=create_app(WebSettings(settings), PUBLICATIONS))


@pytest.fixture()
def upload_site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    built = publish(build_site(tmp_path, database_url))
    yield built
    close(built)


@pytest.fixture()
def sqlite_upload_site(tmp_path: Path) -> Iterator[Site]:
    built = publish(build_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}"))
    yield built
    close(built)


def filled(template: bytes, login: str, seed: int = 1) -> bytes:
    """``template`` filled with correct answers, as the school would type them."""
    form = builtin_forms()["vpr_org_info"]
    [sheet] = form.sheets
    org = next(o for o in ORGS if o.login == login)
    return fill(template, {sheet.name: card_row(form, sheet, org, random.Random(seed))}, form)


def upload(client: TestClient, name: str, data: bytes, collection: str = COLLECTION,
           htmx: bool = True) -> Response:
    page = client.get(f"/collect/{collection}/history")
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/collect/{collection}/upload", data={"csrf": csrf_of(page.text)},
                       files={"file": (name, data, XLSX)}, headers=headers)


def template(client: TestClient, collection: str = COLLECTION) -> bytes:
    """«Скачать шаблон» as the browser follows it: to the school's own file of the storage."""
    found = client.get(f"/collect/{collection}/template")
    assert found.status_code == 303, found.text
    got = client.get(found.headers["location"])
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    return got.content


def poll_url(fragment: str) -> str:
    found = re.search(r'hx-get="([^"]+)"', fragment)
    assert found, f"the answer does not poll: {fragment}"
    return found.group(1).replace("&amp;", "&")


def answered(client: TestClient, first: Response, patience: float = 120.0) -> str:
    """The outcome fragment once the answer workbook can be downloaded, polling as the page does
    (``patience`` only keeps a broken worker from hanging the run; speed is measured in bench/)."""
    fragment = first.text
    if "<html" in fragment:  # the whole history page (no script): its outcome box alone, as the page polls it
        fragment = client.get(str(first.url), headers={"HX-Request": "true"}).text
    deadline = time.monotonic() + patience
    while "/answer" not in fragment:
        assert time.monotonic() < deadline, f"no answer: {fragment}"
        time.sleep(0.1)
        fragment = client.get(poll_url(fragment), headers={"HX-Request": "true"}).text
    return fragment
