"""«Экспорт результатов», «Экспорт статусов» made in the background, the bell that tells when
they are ready (htmx polls it), «Мои отчёты» with the requested and the scheduled workbooks."""

from __future__ import annotations

import pathlib
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from flows.cabinet_reports import GROUP_CHOICES, KINDS, ReportRunner
from warehouse import monitoring as mon
from warehouse.accounts import Account
from warehouse.grouping import Grouping
from warehouse.report_requests import ReportRequest
from web.deps import Cab, CabDep, CoordinatorDep, CsrfDep, Refused, not_found, publication_for

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def runner(request: Request) -> ReportRunner:
    return request.app.state.reports  # type: ignore[no-any-return]


def grouping(request: Request) -> Grouping:
    return request.app.state.grouping  # type: ignore[no-any-return]


def subject(req: ReportRequest) -> str:
    if req.kind == "group":
        which = GROUP_CHOICES.get(req.params.get("which", ""), "")
        return f"{req.params.get('collections', '').replace(',', ', ')}; {which}"
    return req.params.get("collection") or req.params.get("publication", "")


def group_params(request: Request, c: Cab, user: Account, picked: list[str], which: str) -> dict[str, str]:
    """The group report's request: the collections picked (none picked: every one offered),
    each one the operator lets be grouped and ``user`` sees (any other: 404), with ``which`` =
    open cut to those open now."""
    if which not in GROUP_CHOICES:
        raise not_found()
    allowed = grouping(request).groupable()
    offered = {coll.id: coll for coll in mon.visible_collections(c.cabinet.warehouse, user) if coll.id in allowed}
    # «Запросить снова» sends the stored comma-separated list back as one value.
    asked = {i for value in picked for i in value.split(",") if i}
    if asked - set(offered):
        raise not_found()
    now = c.web.settings.now()
    chosen = sorted(i for i in (asked or set(offered)) if which == "all" or offered[i].is_open(now))
    if not chosen:
        raise Refused(400, "Для группового отчёта нет сборов: среди выбранных нет "
                           + ("открытых. Выберите «все» или другие сборы." if which == "open" else
                              "доступных. Обратитесь к оператору."))
    return {"collections": ",".join(chosen), "which": which}


def describe(req: ReportRequest) -> str:
    """The notification's words: «Отчёт № 3 (Экспорт результатов, vpr-…) готов»."""
    what = f"Отчёт № {req.id} ({KINDS.get(req.kind, req.kind)}, {subject(req)})"
    if req.state == "ready":
        return f"{what} готов"
    if req.state == "failed":
        return f"{what} не сформирован из-за ошибки. Запросите его снова"
    return f"{what} формируется"


@router.post("/reports")
def ask(request: Request, c: CabDep, user: CoordinatorDep, _: CsrfDep,
        kind: Annotated[str, Form(max_length=20)], collection: Annotated[str, Form(max_length=100)] = "",
        publication: Annotated[str, Form(max_length=100)] = "",
        collections: Annotated[list[str] | None, Form(max_length=2000)] = None,
        which: Annotated[str, Form(max_length=8)] = "open") -> Response:
    if kind == "group":
        params = group_params(request, c, user, collections or [], which)
    elif kind == "downloads":
        params = {"publication": publication_for(c, user, publication).id}  # 404 unless it sees it
    elif kind in KINDS and mon.collection_for(c.cabinet.warehouse, user, collection) is not None:
        params = {"collection": collection}
    else:
        raise not_found()
    req, _joined = runner(request).ask(user.login, kind, params)
    return RedirectResponse(f"/reports?asked={req.id}", status_code=303)


@router.get("/reports")
def mine(request: Request, c: CabDep, user: CoordinatorDep, asked: int = 0) -> Response:
    requests = runner(request).requests
    rows = requests.mine(user.login)
    requests.mark_seen(user.login)
    folder = c.web.settings.reports_dir / user.login
    scheduled = sorted(p.name for p in folder.glob("*.xlsx")) if folder.is_dir() else []
    just = next((r for r in rows if r.id == asked), None)
    return c.render(request, "monitor_reports.html", user=user, csrf=request.state.session.csrf, rows=rows,
                    just=just, describe=describe, subject=subject, kinds=KINDS, scheduled=scheduled)


@router.get("/reports/bell")
def bell(request: Request, c: CabDep, user: CoordinatorDep) -> Response:
    news = runner(request).requests.news(user.login)
    return c.render(request, "_monitor_bell.html", count=len(news),
                    latest=describe(news[0]) if news else "")


@router.get("/reports/{request_id}/file")
def download(request: Request, c: CabDep, user: CoordinatorDep,
             request_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    req = runner(request).requests.get(request_id, login=user.login)
    if req is None or req.state != "ready" or req.file is None:
        raise not_found()
    return _send(c.web.settings.home, c.web.settings.home / req.file, f"report-{req.id}-{req.kind}.xlsx")


@router.get("/reports/scheduled/{name}")
def scheduled(c: CabDep, user: CoordinatorDep, name: Annotated[str, Path(max_length=200)]) -> Response:
    folder = c.web.settings.reports_dir / user.login
    # Only a name the folder lists: no path of the caller's making is opened.
    listed = {p.name: p for p in folder.glob("*.xlsx")} if folder.is_dir() else {}
    if name not in listed:
        raise not_found()
    return _send(folder, listed[name], name)


def _send(root: pathlib.Path, path: pathlib.Path, filename: str) -> Response:
    """The file if it lies inside ``root`` (a moved workspace or an edited row must not reach out)."""
    base, target = root.resolve(), path.resolve()
    if not target.is_relative_to(base) or not target.is_file():
        raise not_found()
    return FileResponse(target, media_type=XLSX, filename=filename)
