"""What routes depend on: the cabinet, the signed-in user, the CSRF check, the page renderer.

``current_user`` is a FastAPI dependency: a route that takes it cannot run for an anonymous
visitor, a closed session or a blocked account (the session row is gone or the account says so).

A page's reads go through one connection (``reader``), in autocommit (no BEGIN or COMMIT round
trips), given back before the page renders. Dependencies that do no I/O are ``async def``:
FastAPI runs a plain ``def`` one in the thread pool, a hop that costs more than its work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Connection

from forms import MOSCOW
from forms.errors import SborError
from forms.publications import Publication
from warehouse.accounts import Account, Session
from warehouse.cabinet import Cabinet
from warehouse.engine import reader as engine_reader
from web.config import WebSettings
from web.security import same

SESSION_COOKIE = "sbor_session"
PRE_COOKIE = "sbor_pre"
ROLE_TITLES = {"school": "Образовательная организация", "municipal": "Муниципальный координатор",
               "regional": "Региональный координатор", "operator": "Оператор"}


class NotSignedIn(SborError):
    """Sends the visitor to the sign-in page."""


class MustSetPassword(SborError):
    """A session opened with a one-time code may only set a new password."""


class Refused(SborError):
    """403 or 404 with a Russian page; ``status`` says which."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def not_found() -> Refused:
    return Refused(404, "Страница не найдена или у вас нет к ней доступа.")


def _moscow(value: datetime | None) -> str:
    """«01.12.2026 10:00», Moscow time. Formatted by hand: 1.0 µs against strftime's 1.5 here,
    and a report page formats two hundred."""
    if not value:
        return ""
    m = value.astimezone(MOSCOW)
    return f"{m.day:02d}.{m.month:02d}.{m.year} {m.hour:02d}:{m.minute:02d}"


def _size(n: int) -> str:
    """«512 Б», «14,2 КБ», «50,0 МБ»: as the file storage shows a size."""
    if n < 1024:
        return f"{n} Б"
    value, unit = (n / 1024, "КБ") if n < 1024**2 else (n / 1024**2, "МБ")
    return f"{value:.1f} {unit}".replace(".", ",")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             auto_reload=False)  # templates change with a release, not at run time
    env.filters["moscow"] = _moscow
    env.filters["size"] = _size
    env.globals["role_titles"] = ROLE_TITLES
    return env


@dataclass(frozen=True)
class Cab:
    """The per-process state routes read (nothing in it changes after start-up)."""

    web: WebSettings
    cabinet: Cabinet
    publications: tuple[Publication, ...]
    pages: jinja2.Environment
    files_root: Path
    secret: bytes

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.pages.get_template(name).render(request=request, **context)
        return HTMLResponse(html, status_code=status)


# ``async`` where a dependency does no I/O: FastAPI runs a plain ``def`` one in its thread pool,
# a hop per dependency per request that the busiest routes (autosave) felt.
async def cab(request: Request) -> Cab:
    return request.app.state.cab  # type: ignore[no-any-return]


CabDep = Annotated[Cab, Depends(cab)]


def live_session(c: Cab, request: Request, conn: Connection | None = None) -> Session:
    """The live session of the request's cookie, or NotSignedIn. Read from the database on every
    request (through ``conn`` when the route holds one): a sign-out, a block or a reset in any
    process ends it on its next request."""
    session_id = request.cookies.get(SESSION_COOKIE)
    session = c.cabinet.accounts.session(session_id, conn) if session_id else None
    if session is None:
        raise NotSignedIn()
    request.state.session = session
    return session


async def session_of(request: Request, c: CabDep) -> Session:
    return await run_in_threadpool(live_session, c, request)


SessionDep = Annotated[Session, Depends(session_of)]


@contextlib.contextmanager
def reader(c: Cab) -> Iterator[Connection]:
    """One connection for a route's reads, in autocommit; the route gives it back before it
    renders (templates may read through connections of their own, e.g. the «Сбор данных»
    block) and before a download streams."""
    with engine_reader(c.cabinet.warehouse.engine) as conn:
        yield conn


@contextlib.contextmanager
def signed_in(c: Cab, request: Request, *, coordinator: bool = False) -> Iterator[tuple[Account, Connection]]:
    """The signed-in account and one connection (a ``reader``) for a page's reads: the session
    is read on the connection the page reads through next, in the route's own hop to the thread
    pool. Through ``UserDep`` it took a hop and a pool checkout (with its pre-ping) of its own,
    a tenth of a download report's time. Refuses as ``current_user`` does and, with
    ``coordinator``, as ``coordinator`` does."""
    with reader(c) as conn:
        user = user_of(live_session(c, request, conn))
        yield coordinator_only(user) if coordinator else user, conn


def user_of(session: Session) -> Account:
    """The session's account, once it has a password of its own."""
    if session.must_set_password:
        raise MustSetPassword()
    return session.account


async def current_user(session: SessionDep) -> Account:
    """The signed-in account, once it has a password of its own."""
    return user_of(session)


UserDep = Annotated[Account, Depends(current_user)]


async def csrf_token(request: Request) -> str | None:
    """The token a change carries: its form's ``csrf`` field, or the header the page's script
    and htmx send."""
    form = await request.form()
    token = form.get("csrf") or request.headers.get("x-csrf-token")
    return token if isinstance(token, str) else None


def check_csrf(token: str | None, session: Session) -> None:
    """Refuses a change that does not carry the session's token."""
    if not same(token, session.csrf):
        raise Refused(403, "Форма устарела или отправлена не со страницы кабинета. Обновите страницу "
                           "и повторите действие.")


async def csrf_checked(request: Request, session: SessionDep) -> Session:
    """Refuses a change whose form (or htmx header) does not carry the session's token."""
    check_csrf(await csrf_token(request), session)
    return session


CsrfDep = Annotated[Session, Depends(csrf_checked)]


def coordinator_only(user: Account) -> Account:
    """``user`` if a coordinator (or the operator); for a school, 404."""
    if not user.is_coordinator:
        raise not_found()
    return user


async def coordinator(user: UserDep) -> Account:
    return coordinator_only(user)


CoordinatorDep = Annotated[Account, Depends(coordinator)]


async def operator(user: UserDep) -> Account:
    if user.role != "operator":
        raise not_found()
    return user


OperatorDep = Annotated[Account, Depends(operator)]


def visible_publications(c: Cab, user: Account, conn: Connection | None = None) -> list[Publication]:
    seen = c.cabinet.storage.sees(user, [p.participants for p in c.publications], conn)
    return [p for p, yes in zip(c.publications, seen, strict=True) if yes]


def publication_for(c: Cab, user: Account, publication_id: str, conn: Connection | None = None) -> Publication:
    """The publication if ``user`` sees it; otherwise 404 (not 403: do not confirm it exists)."""
    for p in c.publications:
        if p.id == publication_id and c.cabinet.storage.sees(user, [p.participants], conn) == [True]:
            return p
    raise not_found()


def safe_next(raw: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (//evil, https://…) becomes ``default``."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return default
