"""Signing in to the cabinet: the one-time code, the password, the one message for any wrong
pair, sessions that a sign-out or a block ends at once, CSRF, fixation and throttling."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.cabinet_site import PASSWORD, A, B, Site, csrf_of, sign_in, token
from warehouse.accounts import PAIR_FREE, NewAccount
from web.deps import SESSION_COOKIE

WRONG = "Неверный логин или пароль"


def test_a_new_school_signs_in_with_its_code_and_must_set_a_password(site: Site) -> None:
    [(_, code)] = site.cabinet.accounts.issue(
        [NewAccount("edu770002", "school", "77", "7701", "Школа 2")], reissue=True)
    client = site.client()
    response = sign_in(client, "edu770002", code)
    assert response.status_code == 303 and response.headers["location"] == "/password"
    # Until a password is set, every page leads back to the password form.
    assert client.get("/").headers["location"] == "/password"
    page = client.get("/password")
    assert "Задайте пароль" in page.text
    short = client.post("/password", data={"password": "короткий", "repeat": "короткий", "csrf": csrf_of(page.text)})
    assert short.status_code == 400 and "не менее 10 символов" in short.text
    mismatch = client.post("/password", data={"password": "Новый-пароль-1", "repeat": "Новый-пароль-2",
                                              "csrf": csrf_of(page.text)})
    assert "не совпадают" in mismatch.text
    done = client.post("/password", data={"password": "Новый-пароль-1", "repeat": "Новый-пароль-1",
                                          "csrf": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "edu770002" in home.text and "Выйти" in home.text
    # The code is spent: it no longer opens the account; the password does.
    assert WRONG in sign_in(site.client("10.0.0.2"), "edu770002", code).text
    assert sign_in(site.client("10.0.0.2"), "edu770002", "Новый-пароль-1").status_code == 303


@pytest.mark.parametrize("login, password", [
    (A, "wrong-password"), (A.upper(), PASSWORD), (A, PASSWORD.upper()), ("edu999999", PASSWORD), ("", ""),
])
def test_any_wrong_pair_gets_the_one_message(sqlite_site: Site, login: str, password: str) -> None:
    response = sign_in(sqlite_site.client(), login, password)
    assert response.status_code == 401
    assert WRONG in response.text and SESSION_COOKIE not in response.cookies


def test_the_login_is_shown_top_right_and_sign_out_ends_the_session(sqlite_site: Site) -> None:
    client = sqlite_site.signed_in(A)
    home = client.get("/")
    assert f'<span class="login" title="Образовательная организация">{A}</span>' in home.text
    stolen = client.cookies[SESSION_COOKIE]
    out = client.post("/logout", data={"csrf": csrf_of(home.text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    # The old id, replayed by anyone, opens nothing: the session row is gone.
    replay = sqlite_site.client()
    replay.cookies.set(SESSION_COOKIE, stolen, domain="testserver.local")
    assert replay.get("/").headers["location"].startswith("/login")


def test_session_id_changes_at_sign_in(sqlite_site: Site) -> None:
    client = sqlite_site.client()
    planted = "planted-by-an-attacker"
    client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    response = sign_in(client, A, PASSWORD)
    assert response.cookies[SESSION_COOKIE] != planted
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie.replace("; path", "")
    first = client.cookies[SESSION_COOKIE]
    again = sign_in(client, A, PASSWORD)
    assert again.cookies[SESSION_COOKIE] != first  # and a second sign-in closes the first one
    old = sqlite_site.client()
    old.cookies.set(SESSION_COOKIE, first, domain="testserver.local")
    assert old.get("/").status_code == 303


def test_a_blocked_account_loses_its_open_session_at_once(sqlite_site: Site) -> None:
    school = sqlite_site.signed_in(A)
    assert school.get("/").status_code == 200
    operator = sqlite_site.signed_in("operator", "10.0.0.9")
    blocked = operator.post(f"/accounts/{A}/block", data={"csrf": token(operator)})
    assert blocked.status_code == 200 and "заблокирована" in blocked.text
    assert school.get("/").headers["location"].startswith("/login")
    assert WRONG in sign_in(sqlite_site.client(), A, PASSWORD).text
    operator.post(f"/accounts/{A}/unblock", data={"csrf": token(operator)})
    assert sign_in(sqlite_site.client(), A, PASSWORD).status_code == 303


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_a_change_without_the_right_csrf_token_is_refused(sqlite_site: Site, csrf: str | None) -> None:
    client = sqlite_site.signed_in(A)
    data = {"back": "/"} if csrf is None else {"csrf": csrf, "back": "/"}
    response = client.post("/publications/vpr-tech-2027/favourite", data=data)
    assert response.status_code == 403 and "Обновите страницу" in response.text
    assert sqlite_site.cabinet.storage.prefs(A) == {}
    # Signing out needs the token too (a page elsewhere must not sign a school out).
    assert client.post("/logout", data=data).status_code == 403
    assert client.get("/").status_code == 200


def test_the_sign_in_form_needs_its_own_token(sqlite_site: Site) -> None:
    client = sqlite_site.client()
    client.get("/login")
    response = client.post("/login", data={"login": A, "password": PASSWORD, "csrf": "forged", "next": "/"})
    assert response.status_code == 403 and SESSION_COOKIE not in response.cookies


def test_repeated_wrong_passwords_slow_that_pair_down_but_not_the_school_elsewhere(sqlite_site: Site) -> None:
    attacker = sqlite_site.client("203.0.113.5")
    for _ in range(PAIR_FREE):
        assert sign_in(attacker, A, "guess").status_code == 401
    # Now even the right password waits at that address…
    held = sign_in(attacker, A, PASSWORD)
    assert held.status_code == 429 and "Слишком много неудачных попыток входа" in held.text
    # …while the school at its own address signs in as usual.
    assert sign_in(sqlite_site.client("10.0.0.1"), A, PASSWORD).status_code == 303
    # And another login from the attacker's address is not yet held.
    assert sign_in(attacker, B, PASSWORD).status_code == 303


def test_a_coordinator_resets_a_school_in_scope(sqlite_site: Site) -> None:
    school = sqlite_site.signed_in(A)
    coordinator = sqlite_site.signed_in("mun7701", "10.0.0.7")
    page = coordinator.post(f"/schools/{A}/reset", data={"csrf": token(coordinator)})
    assert page.status_code == 200 and "Новый одноразовый код" in page.text
    code = page.text.split('<strong class="code">')[1].split("</strong>")[0]
    assert school.get("/").status_code == 303  # the old password's session is over
    assert WRONG in sign_in(sqlite_site.client(), A, PASSWORD).text
    assert sign_in(sqlite_site.client(), A, code).headers["location"] == "/password"


def test_pages_carry_the_security_headers(sqlite_site: Site) -> None:
    client = sqlite_site.signed_in(A)
    for url in ("/", "/login", "/static/cabinet.css"):
        h = client.get(url).headers
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert "unsafe-inline" not in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY"
    assert client.get("/").headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in client.get("/").headers  # plain HTTP here
    assert client.get("/static/htmx.min.js").headers["cache-control"].startswith("public")


def test_a_request_body_past_the_cap_is_refused_while_it_streams(sqlite_site: Site) -> None:
    client = sqlite_site.client()
    page = client.get("/login")
    huge = {"login": A, "password": "x" * 70_000, "csrf": csrf_of(page.text), "next": "/"}
    response = client.post("/login", data=huge)
    assert response.status_code == 413 and "Запрос слишком велик" in response.text

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):  # no Content-Length: counted as it arrives
            yield b"login=" + b"a" * 1000 + b"&"

    streamed = client.post("/login", content=chunks(),
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert streamed.status_code == 413
    assert sign_in(client, A, PASSWORD).status_code == 303  # the next request is served as usual


def test_a_new_code_does_not_unblock_an_account(sqlite_site: Site) -> None:
    sqlite_site.cabinet.accounts.set_blocked(A, True)
    [(_, code)] = sqlite_site.cabinet.accounts.issue(
        [NewAccount(A, "school", "77", "7701", "Школа 1")], reissue=True)
    assert sqlite_site.cabinet.accounts.get(A).blocked is True
    assert WRONG in sign_in(sqlite_site.client(), A, code).text


def test_failures_at_the_same_moment_all_count(site: Site) -> None:
    accounts = site.cabinet.accounts
    # As many at once as are let through before the pair must wait: each is checked before any
    # is counted, so all of them must count (a later one would rightly be held, uncounted).
    with ThreadPoolExecutor(PAIR_FREE) as pool:
        results = list(pool.map(lambda _: accounts.sign_in(A, "guess", "198.51.100.7"), range(PAIR_FREE)))
    assert all(r.account is None for r in results)
    f = site.cabinet.tables.failures
    with site.cabinet.warehouse.engine.connect() as conn:
        assert conn.execute(sa.select(f.c.failures).where(f.c.login == A)).scalar_one() == PAIR_FREE
    # The pair that failed is held; the same login from another address is not (no lock-out).
    pair_held, elsewhere_held = accounts.wait_seconds(A, "198.51.100.7"), accounts.wait_seconds(A, "10.0.0.1")
    assert pair_held > 0 and elsewhere_held == 0


def test_a_session_idle_for_a_working_day_ends(sqlite_site: Site) -> None:
    client = sqlite_site.signed_in(A)
    s = sqlite_site.cabinet.tables.sessions
    with sqlite_site.cabinet.warehouse.engine.begin() as conn:
        conn.execute(sa.update(s).values(last_seen=datetime.now(UTC) - timedelta(hours=9)))
    assert client.get("/").headers["location"].startswith("/login")
    sqlite_site.signed_in(A)  # and the next sign-in clears the stale row away
    with sqlite_site.cabinet.warehouse.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(s)).scalar_one() == 1
