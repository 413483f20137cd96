"""The access matrix, built from the app's own route table: every route, as every role, with
another school's, municipality's and region's ids, is refused (403 or 404). A route added without
an entry here fails ``test_every_route_has_an_entry``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from tests.cabinet_site import ROLES, A, B, C, Site, close, token
from tests.monitor_site import build_monitored_site


@pytest.fixture()
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:  # noqa: F811
    """The cabinet with a collection under way, so the monitoring probes ask for real data."""
    built = build_monitored_site(tmp_path, database_url)
    # reg77's own report request (its row: no run needed to be refused to others) and a scheduled
    # workbook in its folder.
    built.report = built.app.state.reports.requests.ask("reg77", "statuses", {"collection": MONITORED})[0].id
    built.app.state.reports.requests.fail(built.report, "left failed for the matrix")
    (built.settings.reports_dir / "reg77").mkdir(parents=True, exist_ok=True)
    (built.settings.reports_dir / "reg77" / "status.xlsx").write_bytes(b"PK")
    yield built
    close(built)


def _not_own(s: Site) -> list[int]:
    """Submission numbers that are not school A's: the other schools' and one that does not exist."""
    own = {r.id for r in s.cabinet.warehouse.history(MONITORED, A)}
    return [n for n in (*range(1, 6), 999999) if n not in own]


@dataclass(frozen=True)
class Probe:
    role: str
    method: str
    url: str



# Per route: the foreign requests to try, from each role. Routes that take no id of a school,
# municipality or region say why instead (their own behaviour is tested in test_web_auth).
Entry = Callable[[Site], list[Probe]] | str
# Collections the test site's school does not take part in (another kind, another municipality,
# none at all).
OTHERS = ("vpr-spo-schedule-2027", "spo-specialities-2026", "mun-7702-only", "no-such")
MONITORED = "vpr-org-info-2027"  # published by tests.monitor_site
FOREIGN_PUBLICATION = {"school": "mun-7702-only", "municipal": "mun-7702-only", "regional": "region-50-only"}
MATRIX: dict[tuple[str, str], Entry] = {
    ("GET", "/login"): "the sign-in form: no ids, no data",
    ("GET", "/health"): "the load balancer's probe: answers 'ok', no ids, no data",
    ("POST", "/login"): "sign-in: no ids (test_web_auth)",
    ("POST", "/logout"): "ends the caller's own session: no ids",
    ("GET", "/password"): "the caller's own first password: no ids",
    ("POST", "/password"): "the caller's own first password: no ids",
    ("GET", "/password/change"): "the caller's own password change: no ids",
    ("POST", "/password/change"): "the caller's own password change: no ids (test_web_password)",
    ("GET", "/"): lambda s: [
        # A section the caller has no publication in is not found; nor is a made-up one.
        Probe("school", "GET", "/?section=ВПР СПО"),
        *[Probe(role, "GET", "/?section=Нет такого раздела") for role in ROLES],
    ],
    ("GET", "/publications/{publication_id}"): lambda s: [
        Probe("school", "GET", "/publications/vpr-spo-schedule-2027"),  # an SPO publication for a school
        Probe("school", "GET", "/publications/region-50-only"),
        Probe("municipal", "GET", "/publications/mun-7702-only"),  # another municipality's
        Probe("school", "GET", "/publications/mun-7702-only"),
        Probe("municipal", "GET", "/publications/region-50-only"),
        Probe("regional", "GET", "/publications/region-50-only"),
        Probe("operator", "GET", "/publications/no-such-publication"),
    ],
    ("POST", "/publications/{publication_id}/favourite"): lambda s: [
        Probe(role, "POST", f"/publications/{pub}/favourite") for role, pub in FOREIGN_PUBLICATION.items()
    ] + [Probe("operator", "POST", "/publications/no-such-publication/favourite")],
    ("POST", "/publications/{publication_id}/expanded"): lambda s: [
        Probe(role, "POST", f"/publications/{pub}/expanded") for role, pub in FOREIGN_PUBLICATION.items()
    ] + [Probe("operator", "POST", "/publications/no-such-publication/expanded")],
    ("GET", "/files/{file_id}"): lambda s: [
        Probe("school", "GET", f"/files/{s.files[B]}"),  # another school's own file
        Probe("school", "GET", f"/files/{s.files[C]}"),  # another region's school's own file
        Probe("school", "GET", f"/files/{s.files['region50.pdf']}"),  # a publication of another region
        Probe("school", "GET", "/files/999999"),
        # A coordinator sees its schools' own files but never downloads them (manual 000, 3.2).
        Probe("municipal", "GET", f"/files/{s.files[A]}"),
        Probe("municipal", "GET", f"/files/{s.files['region50.pdf']}"),
        Probe("regional", "GET", f"/files/{s.files[B]}"),
        Probe("regional", "GET", f"/files/{s.files['region50.pdf']}"),
        Probe("operator", "GET", f"/files/{s.files[C]}"),
    ],
    ("GET", "/publications/{publication_id}/downloads"): lambda s: [
        Probe("school", "GET", "/publications/vpr-tech-2027/downloads"),  # schools have no report
        Probe("municipal", "GET", "/publications/region-50-only/downloads"),
        Probe("regional", "GET", "/publications/region-50-only/downloads"),
        Probe("operator", "GET", "/publications/no-such-publication/downloads"),
    ],
    ("GET", "/publications/{publication_id}/downloads.xlsx"): lambda s: [
        Probe("school", "GET", "/publications/vpr-tech-2027/downloads.xlsx"),
        Probe("municipal", "GET", "/publications/region-50-only/downloads.xlsx"),
        Probe("regional", "GET", "/publications/region-50-only/downloads.xlsx"),
        Probe("operator", "GET", "/publications/no-such-publication/downloads.xlsx"),
    ],
    ("GET", "/schools"): lambda s: [Probe("school", "GET", "/schools")],
    ("POST", "/schools/{login}/reset"): lambda s: [
        Probe("school", "POST", f"/schools/{A}/reset"),  # not even its own
        Probe("school", "POST", f"/schools/{B}/reset"),
        Probe("municipal", "POST", f"/schools/{B}/reset"),  # another municipality
        Probe("municipal", "POST", f"/schools/{C}/reset"),  # another region
        Probe("municipal", "POST", "/schools/reg77/reset"),  # a coordinator is no school
        Probe("regional", "POST", f"/schools/{C}/reset"),
        Probe("operator", "POST", "/schools/operator/reset"),
    ],
    ("POST", "/accounts/{login}/block"): lambda s: [
        *[Probe(role, "POST", f"/accounts/{C}/block") for role in ("school", "municipal", "regional")],
        Probe("operator", "POST", "/accounts/operator/block"),  # not itself
        Probe("operator", "POST", "/accounts/nobody/block"),
    ],
    ("POST", "/accounts/{login}/unblock"): lambda s: [
        *[Probe(role, "POST", f"/accounts/{C}/unblock") for role in ("school", "municipal", "regional")],
        Probe("operator", "POST", "/accounts/nobody/unblock"),
    ],
    # The web form is the participating school's own: others, coordinators included, get 404.
    ("GET", "/collect/{collection_id}"): lambda s: [
        *[Probe(role, "GET", "/collect/spo-specialities-2026") for role in ROLES],  # no SPO school signs in
        Probe("school", "GET", "/collect/no-such-collection"),
    ],
    ("POST", "/collect/{collection_id}"): lambda s: [
        Probe(role, "POST", "/collect/spo-specialities-2026") for role in ROLES],
    ("POST", "/collect/{collection_id}/draft"): lambda s: [
        Probe(role, "POST", "/collect/spo-specialities-2026/draft") for role in ROLES],
    ("POST", "/collect/{collection_id}/cell"): lambda s: [
        Probe(role, "POST", "/collect/spo-specialities-2026/cell") for role in ROLES],
    ("POST", "/collect/{collection_id}/from-file/{submission_id}"): lambda s: [
        *[Probe(role, "POST", "/collect/spo-specialities-2026/from-file/1") for role in ROLES],
        *[Probe("school", "POST", f"/collect/vpr-org-info-2027/from-file/{n}") for n in _not_own(s)],
    ],
    # Excel through the cabinet (issue 13): a school's own collection only; a coordinator has no
    # template, sends no file and reads no school's outcome or answers.
    ("POST", "/collect/{collection_id}/upload"): lambda s: [
        *[Probe(role, "POST", "/collect/spo-specialities-2026/upload") for role in ROLES],
        *[Probe("school", "POST", f"/collect/{pub}/upload") for pub in OTHERS],
        *[Probe(role, "POST", "/collect/vpr-org-info-2027/upload") for role in ROLES if role != "school"],
    ],
    ("GET", "/collect/{collection_id}/template"): lambda s: [
        *[Probe(role, "GET", "/collect/spo-specialities-2026/template") for role in ROLES],
        *[Probe("school", "GET", f"/collect/{pub}/template") for pub in OTHERS],
        *[Probe(role, "GET", "/collect/vpr-org-info-2027/template") for role in ROLES if role != "school"],
    ],
    ("GET", "/collect/{collection_id}/excel"): lambda s: [
        *[Probe(role, "GET", "/collect/spo-specialities-2026/excel") for role in ROLES],
        *[Probe(role, "GET", "/collect/vpr-org-info-2027/excel") for role in ROLES if role != "school"],
    ],
    ("GET", "/collect/{collection_id}/history"): lambda s: [
        *[Probe(role, "GET", "/collect/spo-specialities-2026/history") for role in ROLES],
        *[Probe(role, "GET", "/collect/vpr-org-info-2027/history") for role in ROLES if role != "school"],
        *[Probe("school", "GET", f"/collect/{pub}/history?uploaded={'0' * 64}") for pub in OTHERS],
        Probe("school", "GET", "/collect/vpr-org-info-2027/history?uploaded=not-a-sha"),
        *[Probe(role, "GET", f"/collect/vpr-org-info-2027/history?uploaded={'0' * 64}")
          for role in ROLES if role != "school"],
    ],
    ("GET", "/collect/{collection_id}/answers/{submission_id}"): lambda s: [
        *[Probe(role, "GET", "/collect/spo-specialities-2026/answers/1") for role in ROLES],
        # Another school's answer by its number (every submission of the site but the school's
        # own, and one that does not exist); a coordinator downloads none.
        *[Probe("school", "GET", f"/collect/vpr-org-info-2027/answers/{n}") for n in _not_own(s)],
        *[Probe(role, "GET", f"/collect/vpr-org-info-2027/answers/{n}") for role in ROLES if role != "school"
          for n in (*range(1, 6), 999999)],
    ],
    # Monitoring (issue 14): a school has none; a coordinator gets nothing of another territory.
    ("GET", "/monitor"): lambda s: [Probe("school", "GET", "/monitor")],
    ("GET", "/monitor/{collection_id}"): lambda s: [
        Probe("school", "GET", f"/monitor/{MONITORED}"),
        Probe("operator", "GET", "/monitor/no-such-collection"),
    ],
    ("GET", "/monitor/{collection_id}/participants"): lambda s: [
        Probe("school", "GET", f"/monitor/{MONITORED}/participants"),
        Probe("operator", "GET", "/monitor/no-such-collection/participants"),
    ],
    ("GET", "/monitor/{collection_id}/schools/{login}"): lambda s: [
        Probe("school", "GET", f"/monitor/{MONITORED}/schools/{A}"),  # not even its own here
        Probe("municipal", "GET", f"/monitor/{MONITORED}/schools/{B}"),
        Probe("municipal", "GET", f"/monitor/{MONITORED}/schools/{C}"),
        Probe("regional", "GET", f"/monitor/{MONITORED}/schools/{C}"),
        Probe("operator", "GET", f"/monitor/{MONITORED}/schools/spo770004"),  # not a participant
        Probe("operator", "GET", f"/monitor/{MONITORED}/schools/nobody"),
    ],
    # Reports made in the background (issue 14): the caller's own requests only.
    ("POST", "/reports"): "asks for a report of the caller's own territory; a foreign or unknown "
                          "collection is refused (test_reports_refuse_foreign_collections)",
    ("GET", "/reports"): lambda s: [Probe("school", "GET", "/reports")],
    ("GET", "/reports/bell"): lambda s: [Probe("school", "GET", "/reports/bell")],
    ("GET", "/reports/{request_id}/file"): lambda s: [
        Probe(role, "GET", f"/reports/{s.report}/file")  # type: ignore[attr-defined]
        for role in ("school", "municipal", "operator")
    ] + [Probe("regional", "GET", "/reports/999999/file")],
    ("GET", "/reports/scheduled/{name}"): lambda s: [
        Probe("school", "GET", "/reports/scheduled/status.xlsx"),
        Probe("municipal", "GET", "/reports/scheduled/status.xlsx"),  # reg77's, not its own
        Probe("municipal", "GET", "/reports/scheduled/..%2Freg77%2Fstatus.xlsx"),
        Probe("operator", "GET", "/reports/scheduled/status.xlsx"),
    ],
    ("GET", "/operator/accounts"): lambda s: [
        Probe(role, "GET", "/operator/accounts?q=edu") for role in ("school", "municipal", "regional")
    ],
    # The operator's collections, their group-report mark, and the publications' files: the
    # operator's alone; an unknown collection is not found even for it.
    ("GET", "/operator/collections"): lambda s: [
        Probe(role, "GET", "/operator/collections") for role in ("school", "municipal", "regional")
    ],
    ("POST", "/operator/collections/{collection_id}/groupable"): lambda s: [
        *[Probe(role, "POST", f"/operator/collections/{MONITORED}/groupable")
          for role in ("school", "municipal", "regional")],
        Probe("operator", "POST", "/operator/collections/no-such-collection/groupable"),
    ],
    ("GET", "/operator/publications"): lambda s: [
        Probe(role, "GET", "/operator/publications") for role in ("school", "municipal", "regional")
    ],
}
PUBLIC_MOUNTS = {"/static"}  # the stylesheet and htmx: the same for everyone, no data


def _walk(routes: list[object], prefix: str = "") -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            found |= {(m, prefix + route.path) for m in route.methods}
        elif isinstance(route, Mount):
            assert route.path in PUBLIC_MOUNTS, f"mount {route.path} is not in the access matrix"
        elif hasattr(route, "original_router"):  # FastAPI 0.150's included routers, walked in
            found |= _walk(route.original_router.routes, prefix + route.include_context.prefix)
        else:
            raise AssertionError(f"route {route!r} is not in the access matrix")
    return found


def _routes(site: Site) -> set[tuple[str, str]]:
    found = _walk(site.app.routes)
    assert found, "no routes found: the route table's shape changed"
    return found


def test_every_route_has_an_entry(sqlite_site: Site) -> None:
    routes = _routes(sqlite_site)
    missing = routes - set(MATRIX)
    assert not missing, f"routes without an access-matrix entry: {sorted(missing)}"
    assert not set(MATRIX) - routes, f"entries for routes that no longer exist: {sorted(set(MATRIX) - routes)}"


def test_every_role_is_refused_anothers_ids(site: Site) -> None:
    clients = {role: site.signed_in(login, f"10.0.1.{i}") for i, (role, login) in enumerate(ROLES.items())}
    tokens = {role: token(client) for role, client in clients.items()}
    tried = 0
    for (_method, path), entry in MATRIX.items():
        if isinstance(entry, str):
            continue
        for probe in entry(site):
            client = clients[probe.role]
            if probe.method == "POST":
                # The token as a form field and as the header the page's scripts send (autosave).
                response = client.post(probe.url, data={"csrf": tokens[probe.role], "back": "/"},
                                       headers={"X-CSRF-Token": tokens[probe.role]})
            else:
                response = client.get(probe.url)
            assert response.status_code in (403, 404), (
                f"{probe.role} {probe.method} {probe.url} (route {path}) got {response.status_code}")
            tried += 1
    assert tried > 40
    # Nothing above changed anyone's state: no account blocked or reset, no star set.
    assert all(site.cabinet.accounts.get(login).blocked is False for login in (A, B, C, "operator"))
    assert site.cabinet.storage.prefs(A) == {}
    assert site.app.state.grouping.groupable() == frozenset()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_anonymous_visitors_get_the_sign_in_page_or_nothing(sqlite_site: Site, method: str) -> None:
    client = sqlite_site.client()
    for (m, path), _ in MATRIX.items():
        if m != method or path in ("/login", "/health"):
            continue
        url = path.format(publication_id="vpr-tech-2027", file_id=sqlite_site.files[A], login=A,
                          collection_id=MONITORED, sha="0" * 64, submission_id=1, request_id=1,
                          name="status.xlsx")
        response = client.request(method, url, data={"csrf": "x"} if method == "POST" else None)
        if method == "GET":
            assert response.status_code == 303 and response.headers["location"].startswith("/login"), url
        else:
            assert response.status_code in (401, 403), url


def test_reports_refuse_foreign_collections(site: Site) -> None:
    for role, login in ROLES.items():
        client = site.signed_in(login, "10.0.2.1")
        for kind, collection in (("results", "no-such-collection"), ("no-such-kind", MONITORED)):
            response = client.post("/reports", data={"csrf": token(client), "kind": kind, "collection": collection})
            assert response.status_code == 404, (role, kind, collection)
    school = site.signed_in(A, "10.0.2.2")
    assert school.post("/reports", data={"csrf": token(school), "kind": "results",
                                         "collection": MONITORED}).status_code == 404
    assert site.app.state.reports.requests.mine(A) == []


def test_lists_are_scoped_in_the_queries(sqlite_site: Site) -> None:
    municipal = sqlite_site.signed_in("mun7701")
    page = municipal.get("/schools").text
    assert A in page and "edu770002" in page and B not in page and C not in page
    regional = sqlite_site.signed_in("reg77", "10.0.0.3")
    page = regional.get("/schools").text
    assert A in page and B in page and C not in page
