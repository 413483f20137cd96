"""Sign-in, the first password, a signed-in person's own password change, sign-out (manual 000,
«Авторизация в личном кабинете»)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from warehouse.accounts import Account
from warehouse.credentials import password_problem
from web.deps import PRE_COOKIE, SESSION_COOKIE, CabDep, CsrfDep, SessionDep, UserDep, safe_next
from web.security import anonymous_token, same

router = APIRouter()
WRONG = "Неверный логин или пароль"
MISMATCH = "Пароли в полях «Новый пароль» и «Повторите пароль» не совпадают."
WRONG_CURRENT = "Текущий пароль введён неверно. Введите пароль, с которым вы входите в кабинет."
SAME = "Новый пароль совпадает с текущим. Придумайте другой."
CHANGED = "Пароль изменён. Другие сеансы этой учётной записи завершены: там нужно войти снова."
Secret = Annotated[str, Form(max_length=256)]


def _too_many(wait_seconds: float) -> str:
    return f"Слишком много неудачных попыток входа. Повторите через {max(1, round(wait_seconds / 60))} мин."


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_page(request: Request, c: CabDep, *, error: str = "", login: str = "", status: int = 200) -> Response:
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    token = anonymous_token(c.secret, pre)
    response = c.render(request, "login.html", status=status, error=error, login=login, csrf=token,
                        next=safe_next(request.query_params.get("next")), user=None)
    response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="lax", secure=c.web.cookie_secure, path="/")
    return response


@router.get("/login")
def login_form(request: Request, c: CabDep) -> Response:
    return _login_page(request, c)


@router.post("/login")
async def login(request: Request, c: CabDep, login: Annotated[str, Form(max_length=64)] = "",
                password: Annotated[str, Form(max_length=256)] = "",
                csrf: Annotated[str, Form(max_length=128)] = "",
                next: Annotated[str, Form(max_length=512)] = "/") -> Response:
    pre = request.cookies.get(PRE_COOKIE)
    if not pre or not same(csrf, anonymous_token(c.secret, pre)):
        return _login_page(request, c, error="Форма входа устарела. Введите логин и пароль ещё раз.",
                           login=login, status=403)
    # argon2 is CPU work: off the event loop, so other pages keep answering meanwhile.
    result = await run_in_threadpool(c.cabinet.accounts.sign_in, login, password, _address(request))
    if result.wait_seconds > 0:
        return _login_page(request, c, login=login, status=429, error=_too_many(result.wait_seconds))
    if result.account is None:
        await asyncio.sleep(0.2)  # a little friction for guessing, the same for every failure
        return _login_page(request, c, error=WRONG, login=login, status=401)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await run_in_threadpool(c.cabinet.accounts.close_session, old)
    # A new session id at every sign-in: an id planted before sign-in is worth nothing after it.
    session_id = await run_in_threadpool(c.cabinet.accounts.open_session, result.account,
                                         must_set_password=result.with_code)
    target = "/password" if result.with_code else safe_next(next)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="lax",
                        secure=c.web.cookie_secure, path="/")
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, c: CabDep, session: CsrfDep) -> Response:
    c.cabinet.accounts.close_session(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password")
def password_form(request: Request, c: CabDep, session: SessionDep) -> Response:
    if not session.must_set_password:
        return RedirectResponse("/", status_code=303)
    return c.render(request, "password.html", user=session.account, csrf=session.csrf, error="",
                    first=session.must_set_password)


@router.post("/password")
def set_password(request: Request, c: CabDep, session: CsrfDep,
                 password: Annotated[str, Form(max_length=256)] = "",
                 repeat: Annotated[str, Form(max_length=256)] = "") -> Response:
    if not session.must_set_password:
        # Changing a known password asks for the old one: not built yet, so refuse here.
        return RedirectResponse("/", status_code=303)
    problem = password_problem(password, session.account.login)
    if problem is None and password != repeat:
        problem = MISMATCH
    if problem:
        return c.render(request, "password.html", status=400, user=session.account, csrf=session.csrf,
                        error=problem, first=session.must_set_password)
    c.cabinet.accounts.set_password(session.account.login, password)
    return RedirectResponse("/", status_code=303)


def _change_page(request: Request, c: CabDep, user: Account, csrf: str, *, error: str = "", done: bool = False,
                 status: int = 200) -> Response:
    return c.render(request, "password_change.html", status=status, user=user, csrf=csrf, error=error,
                    done=CHANGED if done else "")


@router.get("/password/change")
def change_form(request: Request, c: CabDep, user: UserDep, session: SessionDep,
                done: Annotated[str, Query(max_length=1)] = "") -> Response:
    """«Сменить пароль» in the header: the current password, the new one twice."""
    return _change_page(request, c, user, session.csrf, done=done == "1")


@router.post("/password/change")
async def change_password(request: Request, c: CabDep, user: UserDep, session: CsrfDep, current: Secret = "",
                          password: Secret = "", repeat: Secret = "") -> Response:
    """The same rules as the first password; the current one checked as at sign-in, a wrong one
    counted toward the sign-in throttle. Then every session of the account ends and this browser
    gets a new one (a session stolen before the change is worth nothing after it)."""
    problem = password_problem(password, user.login)
    if problem is None and password != repeat:
        problem = MISMATCH
    if problem is None and password == current:
        problem = SAME
    if problem:
        return _change_page(request, c, user, session.csrf, error=problem, status=400)
    # argon2 twice (the check and the new hash): off the event loop.
    result = await run_in_threadpool(c.cabinet.accounts.change_password, user.login, current, password,
                                     _address(request))
    if result.wait_seconds > 0:
        return _change_page(request, c, user, session.csrf, error=_too_many(result.wait_seconds), status=429)
    if result.account is None:
        await asyncio.sleep(0.2)  # the sign-in's friction for guessing
        return _change_page(request, c, user, session.csrf, error=WRONG_CURRENT, status=400)
    session_id = await run_in_threadpool(c.cabinet.accounts.open_session, result.account, must_set_password=False)
    response = RedirectResponse("/password/change?done=1", status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="lax",
                        secure=c.web.cookie_secure, path="/")
    return response
