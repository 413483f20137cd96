"""Sign-in, the first password, sign-out (manual 000, «Авторизация в личном кабинете»)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from warehouse.credentials import password_problem
from web.deps import PRE_COOKIE, SESSION_COOKIE, CabDep, CsrfDep, SessionDep, safe_next
from web.security import anonymous_token, same

router = APIRouter()
WRONG = "Неверный логин или пароль"


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
        minutes = max(1, round(result.wait_seconds / 60))
        return _login_page(request, c, login=login, status=429,
                           error=f"Слишком много неудачных попыток входа. Повторите через {minutes} мин.")
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
        problem = "Пароли в полях «Новый пароль» и «Повторите пароль» не совпадают."
    if problem:
        return c.render(request, "password.html", status=400, user=session.account, csrf=session.csrf,
                        error=problem, first=session.must_set_password)
    c.cabinet.accounts.set_password(session.account.login, password)
    return RedirectResponse("/", status_code=303)
