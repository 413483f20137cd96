"""The school's «Сбор данных»: the block on a publication (status, window, «Заполнить» /
«Редактировать», the last transfer), the form on a web page, its draft saved as the school
types, a cell's own check, «Проверить» and «Сдать отчёт», and the receipt (manual 000, 3.3).

Routes are thin: the judge, the recording and the receipt are ``flows.webform``'s.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from markupsafe import Markup

from flows.uploads import MAX_UPLOAD
from flows.webform import (
    WEB_FILE,
    accepted_values,
    answer_path,
    answers_of,
    cell_findings,
    draft_workbook,
    judge_draft,
    prefilled,
    school_state,
    stored_template,
    submit,
    values_from_file,
    warning_key,
)
from forms import MOSCOW, Collection
from forms import Form as FormSpec
from forms.publications import Publication
from validators.verdict import Verdict
from warehouse.accounts import Account
from warehouse.drafts import DraftValues, StaleDraft
from warehouse.history import own_submission
from web.collect import (
    LONG_LIST,
    Collect,
    Problems,
    grid,
    list_id,
    moment_words,
    parse_values,
    school_collection,
    values_of,
)
from web.deps import (
    Cab,
    CabDep,
    CsrfDep,
    Refused,
    UserDep,
    check_csrf,
    live_session,
    not_found,
    reader,
    user_of,
)
from web.routes_upload import OUTCOMES, SHA, outcome, outcome_fragment

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONFLICT = ("Черновик уже изменён в другой вкладке или другим пользователем ({when} мск). Ваши последние "
            "изменения не сохранены: обновите страницу, чтобы увидеть сохранённый черновик, и внесите их снова.")
BAD_DATA = "Данные формы не прочитаны. Обновите страницу и повторите действие."
MAX_DATA = 2_000_000
Data = Annotated[str, Form(max_length=MAX_DATA)]
# The form's grid is one field of JSON (300 rows of specialities are about 100 KB): its pages
# take bodies up to 2 MB (web.security's per-route caps; the upload has its own, first).
FORM_PATH = re.compile(r"/collect/[^/]{1,100}(/.*)?")
FORM_CAP = 2 * 1024 * 1024
FORM_TOO_LARGE = "Данные формы слишком велики. Обновите страницу и повторите действие."
Version = Annotated[int, Form(ge=0, le=2**31)]


def collect_of(request: Request) -> Collect:
    return request.app.state.collect  # type: ignore[no-any-return]


def closed_message(c_closes: str) -> str:
    return f"Сбор данных закрыт {c_closes} (мск). Форма доступна только для просмотра."


def block(request: Request, user: Account, pub: Publication) -> Markup:
    """The «Сбор данных» block of a publication card (a Jinja global: the card is rendered by
    the publications' routes, which need not know about forms)."""
    cab: Cab = request.app.state.cab
    collect = collect_of(request)
    collection = collect.collections.get(pub.collection_id or "")
    if collection is None:
        return Markup("")
    now = cab.web.settings.now()
    state = None
    if user.role == "school":
        state = school_state(cab.cabinet.warehouse, collect.drafts, collection, user.login, now)
    html = cab.pages.get_template("collect_block.html").render(
        collection=collection, state=state, open=collection.is_open(now), opens=moment_words(collection.opens),
        closes=moment_words(collection.closes), web_file=WEB_FILE)
    return Markup(html)  # noqa: S704 - rendered by the autoescaping environment


def _page(request: Request, c: Cab, user: Account, collection_id: str, *, values: DraftValues | None = None,
          version: int | None = None, verdict: Verdict | None = None, notice: str = "",
          status: int = 200) -> Response:
    collect = collect_of(request)
    pub, collection, form = school_collection(c, collect, user, collection_id)
    wh = c.cabinet.warehouse
    now = c.web.settings.now()
    state = school_state(wh, collect.drafts, collection, user.login, now)
    if values is None:
        newer = (state.current is not None and state.draft is not None
                 and state.current.received_at > state.draft.updated_at)
        if state.draft is not None and not newer:
            values, version = state.draft.values, state.draft.version
        elif state.current is not None:
            # An accepted report newer than the draft (a file sent meanwhile) is what counts now:
            # shown, and the next save replaces the older draft.
            values = accepted_values(wh, form, collection.id, user.login)
            version = state.draft.version if state.draft is not None else 0
            if newer and not notice:
                notice = "Показаны данные последнего принятого отчёта: он новее вашего черновика."
        else:
            [org] = wh.organisations([user.login]) or [None]
            if org is None:
                raise not_found()
            values = prefilled(form, collection, org, c.secret)
    problems = Problems.of(form, verdict.findings) if verdict is not None else None
    answers = answers_of(values)
    receipt = None
    if state.current is not None and state.current.file_name == WEB_FILE:
        receipt = state.current.id
    # A refused file newer than the draft: offer its values as the draft.
    refused_file = None
    last = state.last
    if (state.open and last is not None and last.file_name != WEB_FILE and last.outcome == "rejected"
            and last.archive_path and (state.draft is None or state.draft.updated_at <= last.received_at)):
        refused_file = last
    return c.render(request, "collect_form.html", status=status, user=user, csrf=request.state.session.csrf,
                    pub=pub, collection=collection, form=form, state=state, sheets=grid(form, values),
                    version=version if version is not None else (state.draft.version if state.draft else 0),
                    problems=problems, refused_file=refused_file, notice=notice, notice_error=status >= 400,
                    answers=answers, warning_key=warning_key, receipt=receipt, long_list=LONG_LIST, list_id=list_id,
                    opens=moment_words(collection.opens), closes=moment_words(collection.closes),
                    closed=closed_message(moment_words(collection.closes)) if not state.open else "")


@router.get("/collect/{collection_id}")
def form_page(request: Request, c: CabDep, user: UserDep, collection_id: str) -> Response:
    return _page(request, c, user, collection_id)


def _writable(request: Request, c: Cab, user: Account, collection_id: str) -> tuple[Collect, Collection, FormSpec]:
    collect = collect_of(request)
    pub, collection, form = school_collection(c, collect, user, collection_id)
    if not collection.is_open(c.web.settings.now()):
        raise Refused(403, closed_message(moment_words(collection.closes)))
    return collect, collection, form


@router.post("/collect/{collection_id}/draft")
async def save_draft(request: Request, c: CabDep, collection_id: str) -> Response:
    """Autosave (the page's script, debounced): ``{"version": N, "data": grid}`` as JSON with the
    CSRF token in ``X-CSRF-Token``; answers JSON with the new version and time, or 409.

    The cabinet's busiest route, so it takes the shared dependencies' steps itself, in one hop to
    the thread pool and on one connection: the session read, the audience check and the write
    (three statements, one pool checkout) instead of three checkouts and a transaction. Its body
    is read here too (capped by ``SecurityHeaders``): FastAPI's would answer a visitor with no
    session 404 before the session is read."""
    body = await request.body()
    token = request.headers.get("x-csrf-token")
    return await run_in_threadpool(_save, request, c, collection_id, body, token)


def _save(request: Request, c: Cab, collection_id: str, body: bytes, token: str | None) -> Response:
    collect = collect_of(request)
    now = c.web.settings.now()
    draft = None
    try:
        with reader(c) as conn:
            session = live_session(c, request, conn)
            user = user_of(session)
            check_csrf(token, session)
            _, collection, form = school_collection(c, collect, user, collection_id, conn)
            if not collection.is_open(now):
                raise Refused(403, closed_message(moment_words(collection.closes)))
            version, values = _draft_body(form, body)
            if version is None or values is None:
                return JSONResponse({"message": BAD_DATA}, status_code=400)
            if version > 0:
                draft = collect.drafts.save(user.login, collection.id, values, version, now=now, conn=conn)
        if draft is None:  # the first version: a transaction of its own (it records the start of work)
            draft = collect.drafts.save(user.login, collection.id, values, version, now=now)
    except StaleDraft as stale:
        return JSONResponse({"message": CONFLICT.format(when=moment_words(stale.current.updated_at)),
                             "version": stale.current.version}, status_code=409)
    return JSONResponse({"version": draft.version, "updated": draft.updated_at.astimezone().isoformat(),
                         "shown": f"Последнее изменение: {draft.updated_at.astimezone(MOSCOW):%d.%m.%Y %H:%M} (мск)"})


def _draft_body(form: FormSpec, body: bytes) -> tuple[int | None, DraftValues | None]:
    """The version and the grid of an autosave's JSON body; (None, None) for anything else."""
    try:
        payload = json.loads(body) if len(body) <= MAX_DATA else None
    except ValueError:  # not JSON, or not UTF-8
        payload = None
    if not isinstance(payload, dict):
        return None, None
    version = payload.get("version")
    if type(version) is not int or not 0 <= version <= 2**31:  # a bool is no version
        return None, None
    return version, values_of(form, payload.get("data"))


@router.post("/collect/{collection_id}/cell")
def check_cell(request: Request, c: CabDep, user: UserDep, _: CsrfDep, collection_id: str,
               sheet: Annotated[str, Form(max_length=64)], row: Annotated[int, Form(ge=0, le=100_000)],
               field: Annotated[str, Form(max_length=16)],
               value: Annotated[str, Form(max_length=1000)] = "") -> Response:
    """A cell's own check as the school leaves it: its messages (type, bounds, list) or none."""
    collect = collect_of(request)
    _, collection, form = school_collection(c, collect, user, collection_id)
    target = next((s for s in form.sheets if s.table == sheet), None)
    if target is None or field not in {f.number for f in target.fields} or row >= target.max_rows:
        raise not_found()
    found = cell_findings(form, collection, user.login, target, row, field, value)
    return JSONResponse({"messages": [f.message for f in found]})


@router.post("/collect/{collection_id}")
def act(request: Request, c: CabDep, user: UserDep, _: CsrfDep, collection_id: str, data: Data,
        version: Version, action: Annotated[str, Form(max_length=16)]) -> Response:
    """«Сохранить черновик», «Проверить» and «Сдать отчёт»: the draft is saved first (a stale
    one refused with 409), then judged; sent when accepted."""
    collect, collection, form = _writable(request, c, user, collection_id)
    values = parse_values(form, data)
    if values is None or action not in ("save", "check", "submit"):
        raise Refused(400, BAD_DATA)
    try:
        draft = collect.drafts.save(user.login, collection.id, values, version, now=c.web.settings.now())
    except StaleDraft as stale:
        return _page(request, c, user, collection_id, values=values, version=version, status=409,
                     notice=CONFLICT.format(when=moment_words(stale.current.updated_at)))
    if action == "save":
        return _page(request, c, user, collection_id, notice="Черновик сохранён.")
    if action == "check":
        verdict = judge_draft(form, collection, user.login, values)
        return _page(request, c, user, collection_id, verdict=verdict,
                     notice="" if verdict.errors else "Ошибок не найдено. Отчёт можно сдать.")
    [org] = c.cabinet.warehouse.organisations([user.login]) or [None]
    if org is None:
        raise not_found()
    sent = submit(c.web.settings, c.cabinet.warehouse, form, collection, org, values, c.web.settings.now(),
                  collect.explanations)
    if sent.row is None:
        return _page(request, c, user, collection_id, verdict=sent.verdict, status=422,
                     notice="Отчёт не сдан: исправьте ошибки и нажмите «Сдать отчёт» снова.")
    # Sent: the draft is done with; «Редактировать» opens the accepted data as a new draft.
    collect.drafts.delete(user.login, collection.id, draft.version)
    return RedirectResponse(f"/collect/{collection_id}?sent={sent.row.id}", status_code=303)


@router.post("/collect/{collection_id}/from-file/{submission_id}")
def from_file(request: Request, c: CabDep, user: UserDep, _: CsrfDep, collection_id: str,
              submission_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    """A file the school sent becomes its draft, its findings shown at their inputs: what was
    started in Excel is finished in the browser."""
    collect, collection, form = _writable(request, c, user, collection_id)
    row = next((h for h in c.cabinet.warehouse.history(collection.id, user.login) if h.id == submission_id), None)
    if row is None or row.file_name == WEB_FILE:
        raise not_found()
    found = values_from_file(c.web.settings, collect.forms[collection.form_id], collection, user.login, row)
    if found is None:
        raise not_found()
    values, _verdict = found
    collect.drafts.replace(user.login, collection.id, values, based_on=None, now=c.web.settings.now())
    # Judged again as the web form it now is: the same judge, so the same findings at the same cells.
    verdict = judge_draft(form, collection, user.login, values)
    return _page(request, c, user, collection_id, verdict=verdict,
                 notice=f"Значения файла «{row.file_name}» перенесены в форму.")


@router.get("/collect/{collection_id}/template")
def template(request: Request, c: CabDep, user: UserDep, collection_id: str) -> Response:
    """«Скачать шаблон»: the school's own template, a file of the publication's storage (its
    download recorded)."""
    collect = collect_of(request)
    pub, collection, _ = school_collection(c, collect, user, collection_id)
    [org] = c.cabinet.warehouse.organisations([user.login]) or [None]
    if org is None:
        raise not_found()
    file_id = stored_template(c.web.settings, c.cabinet, user, pub.id, collect.forms[collection.form_id],
                              collection, org, c.web.settings.now())
    return RedirectResponse(f"/files/{file_id}", status_code=303)


@router.get("/collect/{collection_id}/excel")
def excel(request: Request, c: CabDep, user: UserDep, collection_id: str) -> Response:
    """«Скачать в Excel»: the school's signed template holding the form as the page shows it
    (the draft, else the accepted data, else the prefilled rows)."""
    collect = collect_of(request)
    _, collection, form = school_collection(c, collect, user, collection_id)
    wh = c.cabinet.warehouse
    [org] = wh.organisations([user.login]) or [None]
    if org is None:
        raise not_found()
    draft = collect.drafts.get(user.login, collection.id)
    if draft is not None:
        values = draft.values
    elif wh.current(collection.id, user.login) is not None:
        values = accepted_values(wh, form, collection.id, user.login)
    else:
        values = prefilled(form, collection, org, c.secret)
    body = draft_workbook(collect.forms[collection.form_id], collection, org, c.secret, values)
    name = f"{collection.id}-{user.login}.xlsx"
    return Response(body, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{name}"'})


@router.get("/collect/{collection_id}/history")
def history(request: Request, c: CabDep, user: UserDep, collection_id: str,
            uploaded: Annotated[str | None, Query(pattern=SHA)] = None, again: bool = False) -> Response:
    """Every file and web submission of the school for the collection, newest first: its
    outcome, its findings, its answer workbook; above them the outcome of a file just uploaded
    (``uploaded``: its SHA-256; the page's poll asks for that box alone)."""
    collect = collect_of(request)
    pub, collection, form = school_collection(c, collect, user, collection_id)
    if uploaded is not None and request.headers.get("hx-request") == "true":
        return outcome_fragment(request, c, user, collection, uploaded, again)
    wh = c.cabinet.warehouse
    items = []
    for row in reversed(wh.history(collection.id, user.login)):
        items.append({"row": row, "findings": wh.findings(row.id) if row.error_count or row.warning_count else [],
                      "answer": answer_path(c.web.settings, row) is not None,
                      "explanations": collect.explanations.of(row.id) if row.warning_count else []})
    box = outcome(c, user, collection, uploaded, again) if uploaded is not None else None
    return c.render(request, "collect_history.html", user=user, csrf=request.state.session.csrf, pub=pub,
                    collection=collection, form=form, items=items, outcomes=OUTCOMES, web_file=WEB_FILE,
                    box=box, cap=MAX_UPLOAD, open=collection.is_open(c.web.settings.now()))


@router.get("/collect/{collection_id}/answers/{submission_id}")
def answer(request: Request, c: CabDep, user: UserDep, collection_id: str,
           submission_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    """The answer to one of the school's own submissions: the receipt, or its workbook with
    every error marked."""
    collect = collect_of(request)
    _, collection, _ = school_collection(c, collect, user, collection_id)
    wh = c.cabinet.warehouse
    sent = own_submission(wh.engine, wh.fixed, user.login, submission_id=submission_id)
    # Its own file in which no collection was recognised is answered from any of its collections.
    row = sent.row if sent is not None and sent.row.collection_id in (collection.id, None) else None
    path = answer_path(c.web.settings, row) if row is not None else None
    if row is None or path is None:
        raise not_found()
    kind = "квитанция" if row.accepted else "ошибки"
    return FileResponse(path, media_type=XLSX, filename=f"{kind}-{row.id:06d}.xlsx")
