"""«Загрузить файл» of the «Сбор данных» block (issue 13): a filled workbook is put into the
school's own inbox folder and judged by the web process's upload worker with the inbox's own
pipeline (``flows.uploads``); the history page shows «Файл принят, проверяется…» and polls until
the outcome, the findings and the answer workbook are there."""

from __future__ import annotations

import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from flows.uploads import MAX_UPLOAD, Job, UploadWorker, save_upload
from flows.webform import answer_path
from forms import Collection
from warehouse.accounts import Account
from warehouse.history import Sent, own_submission
from web.collect import moment_words, school_collection
from web.deps import Cab, CabDep, CsrfDep, UserDep

router = APIRouter()
# The multipart framing around the file (boundaries, the CSRF field) is far under 64 KB.
UPLOAD_CAP = MAX_UPLOAD + 64 * 1024
UPLOAD_PATH = re.compile(r"/collect/[^/]{1,100}/upload")
TOO_LARGE = (f"Файл слишком большой: принимаются файлы не больше {MAX_UPLOAD // 2**20} МБ. Удалите из книги "
             "лишние листы и рисунки, сохраните её как .xlsx и загрузите снова.")
SHA = r"^[0-9a-f]{64}$"
OUTCOMES = {"accepted": "Принят", "accepted_with_warnings": "Принят с предупреждениями",
            "rejected": "Не принят: есть ошибки", "unreadable": "Не принят: файл не прочитан",
            "duplicate": "Повтор уже полученного файла"}


def worker(request: Request) -> UploadWorker:
    """This process's one upload worker (made with the app; its thread starts on first use)."""
    return request.app.state.uploads  # type: ignore[no-any-return]


def _refusal(request: Request, c: Cab, collection: Collection, message: str, status: int = 400) -> Response:
    return c.render(request, "upload_outcome.html", status=status, collection=collection, sha="", sent=None,
                    answer=False, message=message, again=False, labels=OUTCOMES, poll=False)


@router.post("/collect/{collection_id}/upload")
async def upload(request: Request, c: CabDep, user: UserDep, _: CsrfDep, collection_id: str) -> Response:
    collect = request.app.state.collect
    _, collection, _ = await run_in_threadpool(school_collection, c, collect, user, collection_id)
    if not collection.is_open(c.web.settings.now()):
        return _refusal(request, c, collection, f"Сбор данных закрыт {moment_words(collection.closes)} (мск): "
                                                "файлы больше не принимаются.", 403)
    form = await request.form(max_files=1, max_fields=4)
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return _refusal(request, c, collection, "Файл не выбран. Нажмите «Выберите файл», укажите заполненный "
                                                    "шаблон (.xlsx) и нажмите «Загрузить файл».")
        name = file.filename
        data = await file.read(MAX_UPLOAD + 1)
    finally:
        await form.close()  # the spooled temporary file, at once
    if len(data) > MAX_UPLOAD:
        return _refusal(request, c, collection, TOO_LARGE, 413)
    if not data:
        return _refusal(request, c, collection, f"Файл «{name}» пуст. Выберите заполненный шаблон (.xlsx).")
    sha = hashlib.sha256(data).hexdigest()
    wh = c.cabinet.warehouse
    earlier = await run_in_threadpool(wh.find_sha, sha)
    # The login is the session's: the pipeline credits the file to the folder it lies in.
    path = await run_in_threadpool(save_upload, c.web.settings, user.login, name, data)
    worker(request).submit(Job(path, collection.id))
    if request.headers.get("hx-request") != "true":
        target = f"/collect/{collection.id}/history?uploaded={sha}" + ("&again=1" if earlier else "")
        return RedirectResponse(target, status_code=303)
    return await run_in_threadpool(outcome_fragment, request, c, user, collection, sha, earlier is not None)


def outcome(c: Cab, user: Account, collection: Collection, sha: str, again: bool) -> dict[str, object]:
    """What the outcome box shows for the school's upload of content ``sha``: nothing but
    «проверяется» until the pipeline recorded it (the query is the signed-in school's own: another
    school's file of the same content is never shown)."""
    wh = c.cabinet.warehouse
    sent: Sent | None = own_submission(wh.engine, wh.fixed, user.login, sha256=sha)
    answer = sent is not None and answer_path(c.web.settings, sent.row) is not None
    earlier = wh.find_sha(sha) if sent is None and again else None
    message = ("Файл с таким содержимым уже был получен от другой организации и повторно не загружается."
               if earlier is not None else "")
    return {"collection": collection, "sha": sha, "sent": sent, "answer": answer, "message": message,
            "again": again, "labels": OUTCOMES, "poll": not answer and not message}


def outcome_fragment(request: Request, c: Cab, user: Account, collection: Collection, sha: str,
                     again: bool) -> Response:
    return c.render(request, "upload_outcome.html", **outcome(c, user, collection, sha, again))
