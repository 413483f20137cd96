"""A signed-in person changes their own password («Сменить пароль» in the header): the current one,
the new one twice, the first password's rules; the old password stops working, the account's
other sessions end and this one goes on under a new id; a wrong current password counts toward
the sign-in throttle; the form needs its CSRF token."""

from __future__ import annotations

import pytest

from tests.cabinet_site import PASSWORD, A, Site, csrf_of, sign_in
from warehouse.accounts import PAIR_FREE
from web.deps import SESSION_COOKIE

NEW = "новый-пароль-2026"
CHANGE = "/password/change"


def change(client, current: str, password: str, repeat: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get(CHANGE)
    assert page.status_code == 200, page.text
    return client.post(CHANGE, data={"csrf": csrf_of(page.text), "current": current, "password": password,
                                     "repeat": password if repeat is None else repeat})


def test_the_old_password_stops_working_and_other_sessions_end(site: Site) -> None:
    here = site.signed_in(A)
    elsewhere = site.signed_in(A, "10.0.0.2")  # the same school in another browser
    home = here.get("/")
    assert f'href="{CHANGE}">Сменить пароль</a>' in home.text  # in the header, by the login
    before = here.cookies[SESSION_COOKIE]

    done = change(here, PASSWORD, NEW)
    assert done.status_code == 303 and done.headers["location"] == f"{CHANGE}?done=1"
    after = done.cookies[SESSION_COOKIE]
    assert after != before  # this browser goes on under a new session id
    shown = here.get(done.headers["location"])
    assert shown.status_code == 200 and "Пароль изменён. Другие сеансы этой учётной записи завершены" in shown.text
    assert here.get("/").status_code == 200
    # The other browser's session is over: sent to sign in again.
    ended = elsewhere.get("/")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/login")
    # So is the id this browser had before the change.
    stale = site.client("10.0.0.3")
    stale.cookies.set(SESSION_COOKIE, before)
    assert stale.get("/").status_code == 303
    # The old password no longer signs in; the new one does.
    refused = sign_in(site.client("10.0.0.4"), A, PASSWORD)
    assert refused.status_code == 401 and "Неверный логин или пароль" in refused.text  # type: ignore[attr-defined]
    assert sign_in(site.client("10.0.0.4"), A, NEW).status_code == 303  # type: ignore[attr-defined]


@pytest.mark.parametrize(("password", "repeat", "message"), [
    ("короткий", "короткий", "Пароль должен содержать не менее 10 символов."),
    (f"{A}-секрет", f"{A}-секрет", "Пароль не должен содержать логин."),
    (NEW, NEW + "!", "Пароли в полях «Новый пароль» и «Повторите пароль» не совпадают."),
    (PASSWORD, PASSWORD, "Новый пароль совпадает с текущим. Придумайте другой."),
])
def test_the_first_passwords_rules_hold(sqlite_site: Site, password: str, repeat: str, message: str) -> None:
    client = sqlite_site.signed_in(A)
    refused = change(client, PASSWORD, password, repeat)
    assert refused.status_code == 400 and message in refused.text
    assert sign_in(sqlite_site.client("10.0.0.9"), A, PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_a_wrong_current_password_counts_toward_the_sign_in_throttle(sqlite_site: Site) -> None:
    client = sqlite_site.signed_in(A, "203.0.113.7")
    for _ in range(PAIR_FREE):
        wrong = change(client, "не-тот-пароль", NEW)
        assert wrong.status_code == 400 and "Текущий пароль введён неверно" in wrong.text
    # Held now, even with the right password, here and at the sign-in from the same address…
    held = change(client, PASSWORD, NEW)
    assert held.status_code == 429 and "Слишком много неудачных попыток входа" in held.text
    assert sign_in(sqlite_site.client("203.0.113.7"), A, PASSWORD).status_code == 429  # type: ignore[attr-defined]
    # …and nothing changed: the school signs in as before from its own address.
    assert sign_in(sqlite_site.client("10.0.0.1"), A, PASSWORD).status_code == 303  # type: ignore[attr-defined]


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_a_change_without_the_right_csrf_token_is_refused(sqlite_site: Site, csrf: str | None) -> None:
    client = sqlite_site.signed_in(A)
    data = {"current": PASSWORD, "password": NEW, "repeat": NEW}
    refused = client.post(CHANGE, data=data if csrf is None else {**data, "csrf": csrf})
    assert refused.status_code == 403 and "Обновите страницу" in refused.text
    assert sign_in(sqlite_site.client("10.0.0.9"), A, PASSWORD).status_code == 303  # type: ignore[attr-defined]
    assert client.get("/").status_code == 200  # the session goes on


def test_signed_out_the_page_asks_to_sign_in(sqlite_site: Site) -> None:
    answer = sqlite_site.client().get(CHANGE)
    assert answer.status_code == 303 and answer.headers["location"] == f"/login?next={CHANGE}"
