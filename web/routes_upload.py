"""Excel through the cabinet (issue 13): «Скачать шаблон» serves the school's personalised template
from the file storage (so the download is recorded), «Загрузить файл» puts a filled workbook into
the school's own inbox folder and has the web process's worker judge it with the inbox's pipeline;
the page polls for the outcome, the findings and the answer workbook."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from flows.uploads import MAX_UPLOAD, Job, UploadWorker, answer_of, save_upload, template_file
from forms.publications import Publication
from forms.status import Status, is_closed, lifecycle
from warehouse.accounts import Account
from warehouse.history import Sent, own_submission, school_history, takes_part
from warehouse.rows import CollectionRow
from web import routes_files
from web.deps import Cab, CabDep, CsrfDep, Refused, UserDep, not_found, publication_for

router = APIRouter()
# The multipart framing around the file (boundaries, the CSRF field) is far under 64 KB.
UPLOAD_CAP = MAX_UPLOAD + 64 * 1024
UPLOAD_PATH = re.compile(r"/collections/[^/]{1,100}/upload")
TOO_LARGE = (f"Файл слишком большой: принимаются файлы не больше {MAX_UPLOAD // 2**20} МБ. Удалите из книги "
             "лишние листы и рисунки, сохраните её как .xlsx и загрузите снова.")
SHA = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
OUTCOMES = {"accepted": "Принят", "accepted_with_warnings": "Принят с предупреждениями",
            "rejected": "Не принят: есть ошибки", "unreadable": "Не принят: файл не прочитан",
            "duplicate": "Повтор уже полученного файла"}


@dataclass(frozen=True)
class SchoolCollection:
    pub: Publication
    collection: CollectionRow
    status: Status | None  # None where the page does not show it
    closed: bool


def worker(request: Request) -> UploadWorker:
    """This process's one upload worker (made with the app; its thread starts on first use)."""
    return request.app.state.uploads  # type: ignore[no-any-return]


def school_collection(c: Cab, user: Account, collection_id: str, with_status: bool = True) -> SchoolCollection:
    """The collection if ``user`` is a school taking part in it; 404 for anyone else (a
    coordinator has no template and sends no file). ``with_status``: the school's status too
    (its history read; the polls and the upload itself do without)."""
    if user.role != "school":
        raise not_found()
    pub = publication_for(c, user, collection_id)
    wh = c.cabinet.warehouse
    row = wh.collection(pub.collection_id) if pub.collection_id else None
    if row is None or not takes_part(wh.engine, wh.fixed, row.id, user.login):
        raise not_found()
    closed = is_closed(row, c.web.settings.now())  # type: ignore[arg-type]
    if not with_status:
        return SchoolCollection(pub, row, None, closed)
    sent = school_history(wh.engine, wh.fixed, user.login, row.id)
    return SchoolCollection(pub, row, lifecycle(len(sent), sum(s.row.accepted for s in sent), closed), closed)


@router.get("/collections/{collection_id}/excel")
def excel_page(request: Request, c: CabDep, user: UserDep, collection_id: str) -> Response:
    sc = school_collection(c, user, collection_id)
    return c.render(request, "upload_page.html", user=user, csrf=request.state.session.csrf, sc=sc,
                    cap=MAX_UPLOAD)


@router.get("/collections/{collection_id}/template")
def template(c: CabDep, user: UserDep, collection_id: str) -> Response:
    sc = school_collection(c, user, collection_id, with_status=False)
    file_id = template_file(c.web.settings, c.cabinet, sc.collection.id, user.login)
    if file_id is None:
        raise Refused(404, "Шаблон для вашей организации ещё не подготовлен. Обратитесь к координатору.")
    # The storage's own download: Range, the recorded download, the report.
    return routes_files.download(c, user, file_id)


def _refusal(request: Request, c: Cab, user: Account, sc: SchoolCollection, message: str,
             status: int = 400) -> Response:
    return c.render(request, "upload_outcome.html", status=status, user=user, sc=sc, sha="", sent=None,
                    answer=False, message=message, again=None, labels=OUTCOMES, poll=False)


@router.post("/collections/{collection_id}/upload")
async def upload(request: Request, c: CabDep, user: UserDep, _: CsrfDep, collection_id: str) -> Response:
    sc = await run_in_threadpool(school_collection, c, user, collection_id, False)
    form = await request.form(max_files=1, max_fields=4)
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return _refusal(request, c, user, sc, "Файл не выбран. Нажмите «Выберите файл», укажите заполненный "
                                                  "шаблон (.xlsx) и нажмите «Загрузить файл».")
        name = file.filename
        data = await file.read(MAX_UPLOAD + 1)
    finally:
        await form.close()  # the spooled temporary file, at once
    if len(data) > MAX_UPLOAD:
        return _refusal(request, c, user, sc, TOO_LARGE, 413)
    if not data:
        return _refusal(request, c, user, sc, f"Файл «{name}» пуст. Выберите заполненный шаблон (.xlsx).")
    sha = hashlib.sha256(data).hexdigest()
    wh = c.cabinet.warehouse
    earlier = await run_in_threadpool(wh.find_sha, sha)
    # The login is the session's: the pipeline credits the file to the folder it lies in.
    path = await run_in_threadpool(save_upload, c.web.settings, user.login, name, data)
    worker(request).submit(Job(path, sc.collection.id))
    target = f"/collections/{sc.collection.id}/uploads/{sha}" + ("?again=1" if earlier else "")
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(target, status_code=303)
    return await run_in_threadpool(_outcome, request, c, user, sc, sha, earlier is not None)


def _outcome(request: Request, c: Cab, user: Account, sc: SchoolCollection, sha: str, again: bool,
             page: bool = False) -> Response:
    wh = c.cabinet.warehouse
    sent: Sent | None = own_submission(wh.engine, wh.fixed, user.login, sha256=sha)
    answer = sent is not None and answer_of(c.web.settings, sent.row) is not None
    earlier = wh.find_sha(sha) if sent is None and again else None
    message = ("Файл с таким содержимым уже был получен от другой организации и повторно не загружается."
               if earlier is not None else "")
    return c.render(request, "upload_page.html" if page else "upload_outcome.html", user=user,
                    csrf=request.state.session.csrf, sc=sc, sha=sha, sent=sent, answer=answer, message=message,
                    again=again, labels=OUTCOMES, poll=not answer and not message, cap=MAX_UPLOAD)


@router.get("/collections/{collection_id}/uploads/{sha}")
def outcome(request: Request, c: CabDep, user: UserDep, collection_id: str, sha: SHA, again: bool = False) -> Response:
    page = request.headers.get("hx-request") != "true"
    sc = school_collection(c, user, collection_id, with_status=page)
    return _outcome(request, c, user, sc, sha, again, page=page)


@router.get("/submissions/{submission_id}/answer")
def answer_workbook(c: CabDep, user: UserDep, submission_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    if user.role != "school":
        raise not_found()
    wh = c.cabinet.warehouse
    sent = own_submission(wh.engine, wh.fixed, user.login, submission_id=submission_id)
    path = answer_of(c.web.settings, sent.row) if sent else None
    if path is None:
        raise not_found()
    return FileResponse(path, filename=path.name,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

