"""Which publications a school sees is decided from its registry row, read with its session on
every request (no query of its own): the same answer as the database's rule, and a school moved
in the registry sees by its new place on its next page."""

from __future__ import annotations

from dataclasses import replace

from forms import Organisation
from tests.cabinet_site import ONLY_7702, ORGS, PUBLICATIONS, ROLES, A, Site


def test_the_sessions_place_sees_what_the_databases_rule_sees(site: Site) -> None:
    accounts, storage = site.cabinet.accounts, site.cabinet.storage
    rules = [p.participants for p in PUBLICATIONS]
    for org in ORGS:
        session = accounts.session(site.signed_in(org.login).cookies["sbor_session"])
        assert session is not None and session.account.place is not None, org.login
        assert (session.account.place.kind, session.account.place.municipality_code) == (org.kind,
                                                                                        org.municipality_code)
        from_place = storage.sees(session.account, rules)
        from_database = storage.sees(replace(session.account, place=None), rules)
        assert from_place == from_database, org.login
        assert any(from_place) and not all(from_place), org.login  # the rules do tell schools apart
    for role, login in ROLES.items():
        if role != "school":  # a coordinator sees by its territory, in the database
            session = accounts.session(site.signed_in(login).cookies["sbor_session"])
            assert session is not None and session.account.place is None, login


def test_a_school_moved_in_the_registry_sees_by_its_new_place_on_its_next_page(site: Site) -> None:
    school = site.signed_in(A)  # municipality 7701
    assert ONLY_7702.title not in school.get("/").text
    assert school.get(f"/publications/{ONLY_7702.id}").status_code == 404
    moved = next(o for o in ORGS if o.login == A)
    site.cabinet.warehouse.upsert_organisations([Organisation(
        moved.login, moved.full_name, moved.short_name, moved.region_code, moved.region_name, "7702",
        "Муниципалитет 7702", moved.kind)])
    assert ONLY_7702.title in school.get("/").text  # the same session, its next page
    assert school.get(f"/publications/{ONLY_7702.id}").status_code == 200
