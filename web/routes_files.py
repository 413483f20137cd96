"""The file storage (download), the coordinator's «Отчёт о скачивании» and its export, and the
account actions: a coordinator resets a school's password, the operator blocks or unblocks."""

from __future__ import annotations

import pathlib
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from templates.coordinators import render_downloads
from web.deps import (
    CabDep,
    CoordinatorDep,
    CsrfDep,
    OperatorDep,
    Refused,
    not_found,
    publication_for,
    signed_in,
)
from web.downloads import RecordedFileResponse

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/files/{file_id}")
def download(request: Request, c: CabDep, file_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    storage = c.cabinet.storage
    with signed_in(c, request) as (user, db):  # the connection is given back before the file streams
        stored = storage.downloadable(user, file_id, db)
        if stored is None:
            raise not_found()
        publication_for(c, user, stored.publication_id, db)  # 404 unless the account sees it
    root = c.files_root.resolve()
    path = (root / stored.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        # The stored path is ours, but a moved workspace or a hand-edited row must not reach
        # outside the storage.
        raise not_found()
    return RecordedFileResponse(path, filename=stored.name, storage=storage, file_id=stored.id, login=user.login)


def _report_args(file: str, login: str) -> dict[str, str]:
    return {k: v for k, v in (("file", file), ("login", login)) if v}


@router.get("/publications/{publication_id}/downloads")
def report(request: Request, c: CabDep, publication_id: str,
           file: Annotated[str, Query(max_length=200)] = "", login: Annotated[str, Query(max_length=32)] = "",
           page: Annotated[int, Query(ge=1, le=100_000)] = 1, all: bool = False) -> Response:
    size = c.web.page_size
    with signed_in(c, request, coordinator=True) as (user, db):
        pub = publication_for(c, user, publication_id, db)
        result = c.cabinet.storage.download_report(user, pub.id, pub.participants, file_search=file,
                                                   login_search=login, offset=0 if all else (page - 1) * size,
                                                   limit=None if all else size, conn=db)
    pages = max(1, -(-result.schools // size))
    args = _report_args(file, login)
    return c.render(request, "report.html", user=user, csrf=request.state.session.csrf, pub=pub, result=result,
                    page=page, pages=pages, all=all, file=file, login=login,
                    query=urlencode(args), export=f"/publications/{pub.id}/downloads.xlsx"
                    + (f"?{urlencode(args)}" if args else ""))


@router.get("/publications/{publication_id}/downloads.xlsx")
def report_export(c: CabDep, user: CoordinatorDep, publication_id: str,
                  file: Annotated[str, Query(max_length=200)] = "",
                  login: Annotated[str, Query(max_length=32)] = "") -> Response:
    pub = publication_for(c, user, publication_id)
    result = c.cabinet.storage.download_report(user, pub.id, pub.participants, file_search=file,
                                               login_search=login, limit=None)
    body = render_downloads(pub.title, user.title, ((r.login, r.name, r.municipality, r.title, r.first, r.last)
                                                    for r in result.rows), now=datetime.now(UTC))
    name = f"downloads-{pub.id}.xlsx"
    return Response(body, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{name}"'})


@router.get("/schools")
def schools(request: Request, c: CabDep, user: CoordinatorDep,
            login: Annotated[str, Query(max_length=32)] = "") -> Response:
    found = c.cabinet.accounts.schools(user, login)
    return c.render(request, "schools.html", user=user, csrf=request.state.session.csrf, schools=found,
                    login=login, code=None, coded=None)


@router.post("/schools/{login}/reset")
def reset(request: Request, c: CabDep, user: CoordinatorDep, _: CsrfDep, login: str) -> Response:
    code = c.cabinet.accounts.reset(user, login)
    if code is None:
        raise not_found()
    return c.render(request, "schools.html", user=user, csrf=request.state.session.csrf,
                    schools=c.cabinet.accounts.schools(user, login), login=login, code=code, coded=login)


def _block(request: Request, c: CabDep, user: OperatorDep, login: str, blocked: bool) -> Response:
    if login == user.login:
        raise Refused(403, "Оператор не может заблокировать собственную учётную запись.")
    if not c.cabinet.accounts.set_blocked(login, blocked):
        raise not_found()
    return c.render(request, "schools.html", user=user, csrf=request.state.session.csrf,
                    schools=c.cabinet.accounts.schools(user, login), login=login, code=None, coded=None)


@router.post("/accounts/{login}/block")
def block(request: Request, c: CabDep, user: OperatorDep, _: CsrfDep, login: str) -> Response:
    return _block(request, c, user, login, True)


@router.post("/accounts/{login}/unblock")
def unblock(request: Request, c: CabDep, user: OperatorDep, _: CsrfDep, login: str) -> Response:
    return _block(request, c, user, login, False)


def files_root(runtime: pathlib.Path) -> pathlib.Path:
    return runtime / "files"
