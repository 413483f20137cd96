"""Coordinators' monitoring (manual 000, «Мониторинг работы образовательных организаций»): the
collections, «Общая статистика» with its table per region or municipality, «Список участников»
and one school's data with its history. Scope is applied by ``warehouse.monitoring``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from flows.webform import WEB_FILE, accepted_values
from forms import Participants, worded
from forms.status import Status
from warehouse import monitoring as mon
from warehouse.accounts import Account
from warehouse.rows import CollectionRow
from web.collect import LONG_LIST, Collect, Problems, grid, list_id
from web.deps import Cab, CabDep, CoordinatorDep, not_found

router = APIRouter()

OUTCOMES = {"accepted": "Принят", "accepted_with_warnings": "Принят с предупреждениями",
            "rejected": "Не принят: есть ошибки", "unreadable": "Не принят: файл не читается"}
SORT_TITLES = {"login": "Логин", "name": "Наименование", "municipality": "Муниципалитет",
               "status": "Статус", "started": "Дата начала работы", "submitted": "Дата подачи"}


def _collection(c: Cab, user: Account, collection_id: str) -> CollectionRow:
    found = mon.collection_for(c.cabinet.warehouse, user, collection_id)
    if found is None:
        raise not_found()
    return found


@router.get("/monitor")
def collections(request: Request, c: CabDep, user: CoordinatorDep) -> Response:
    wh, now = c.cabinet.warehouse, c.web.settings.now()
    views = [mon.monitoring(wh, user, coll, now) for coll in mon.visible_collections(wh, user)]
    groupable = request.app.state.grouping.groupable()
    return c.render(request, "monitor_list.html", user=user, csrf=request.state.session.csrf, views=views,
                    now=now, offered=[v.collection for v in views if v.collection.id in groupable])


@router.get("/monitor/{collection_id}")
def collection(request: Request, c: CabDep, user: CoordinatorDep, collection_id: str) -> Response:
    coll = _collection(c, user, collection_id)
    view = mon.monitoring(c.cabinet.warehouse, user, coll, c.web.settings.now())
    return c.render(request, "monitor_collection.html", user=user, csrf=request.state.session.csrf,
                    view=view, coll=coll)


@router.get("/monitor/{collection_id}/participants")
def participants(request: Request, c: CabDep, user: CoordinatorDep, collection_id: str,
                 status: Annotated[str, Query(max_length=40)] = "",
                 municipality: Annotated[str, Query(max_length=16)] = "",
                 q: Annotated[str, Query(max_length=100)] = "",
                 sort: Annotated[str, Query(max_length=20)] = "login", desc: bool = False,
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    coll = _collection(c, user, collection_id)
    now = c.web.settings.now()
    closed = now >= coll.closes
    allowed = mon.statuses_for(closed)
    chosen = next((s for s in allowed if s.value == status), None)
    order = sort if sort in mon.SORTS else "login"
    size = c.web.page_size
    wh = c.cabinet.warehouse
    result = mon.participants(wh, user, coll, now, status=chosen, municipality=municipality, search=q,
                              sort=order, descending=desc, offset=(page - 1) * size, limit=size)  # type: ignore[arg-type]
    pages = max(1, -(-result.total // size))
    args = {k: v for k, v in (("status", chosen.value if chosen else ""), ("municipality", municipality),
                              ("q", q)) if v}
    return c.render(request, "monitor_participants.html", user=user, csrf=request.state.session.csrf,
                    coll=coll, result=result, statuses=allowed, chosen=chosen, municipality=municipality,
                    municipalities=mon.municipalities(wh, user, coll.id), q=q, sort=order, desc=desc,
                    page=page, pages=pages, query=urlencode(args), sort_query=urlencode({**args, "sort": order,
                    **({"desc": "1"} if desc else {})}), sorts=SORT_TITLES,
                    not_started=(Status.NOT_STARTED, Status.NEVER_STARTED))


@router.get("/monitor/{collection_id}/schools/{login}")
def answers(request: Request, c: CabDep, user: CoordinatorDep, collection_id: str, login: str) -> Response:
    """A school's accepted data in the form's own rendering, read-only (issue 13's page, every
    input ``readonly`` or ``disabled`` and no control that changes anything), its warnings at
    their inputs with the school's explanations beside them, and every file and web submission
    with its findings."""
    coll = _collection(c, user, collection_id)
    wh = c.cabinet.warehouse
    row = mon.participant(wh, user, coll.id, login)
    if row is None:
        raise not_found()
    collect: Collect = request.app.state.collect
    now = c.web.settings.now()
    closed = now >= coll.closes
    form = worded(collect.forms[coll.form_id], coll.collection(Participants()))
    current = wh.current(coll.id, login)
    problems, sheets = None, []
    if current is not None:
        sheets = grid(form, accepted_values(wh, form, coll.id, login))
        if current.warning_count or current.error_count:
            problems = Problems.of(form, wh.findings(current.id))
    history = []
    for sub in reversed(wh.history(coll.id, login)):
        findings = wh.findings(sub.id) if sub.error_count or sub.warning_count else []
        notes = {(e.worksheet, e.cell, e.code): e.text
                 for e in (collect.explanations.of(sub.id) if sub.warning_count else [])}
        history.append((sub, findings, notes))
    explained = next((notes for sub, _, notes in history if current is not None and sub.id == current.id), {})
    return c.render(request, "monitor_answers.html", user=user, csrf=request.state.session.csrf, coll=coll,
                    row=row, standing=mon.label_status(row, closed), history=history, outcomes=OUTCOMES,
                    current=current, form=form, sheets=sheets, problems=problems, explained=explained,
                    closed="Просмотр без права изменения.", tabs=False, long_list=LONG_LIST, list_id=list_id,
                    web_file=WEB_FILE)
