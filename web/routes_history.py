"""The school's history of a collection (issue 13): every file or web submission credited to it,
its outcome, its findings and its answer workbook; the query is scoped to the signed-in school."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flows.uploads import answer_of
from warehouse.history import school_history
from web.deps import CabDep, UserDep
from web.routes_upload import OUTCOMES, school_collection

router = APIRouter()


@router.get("/collections/{collection_id}/history")
def history(request: Request, c: CabDep, user: UserDep, collection_id: str) -> Response:
    sc = school_collection(c, user, collection_id)
    wh = c.cabinet.warehouse
    sent = school_history(wh.engine, wh.fixed, user.login, sc.collection.id)
    answers = {s.row.id for s in sent if answer_of(c.web.settings, s.row) is not None}
    return c.render(request, "upload_history.html", user=user, csrf=request.state.session.csrf, sc=sc,
                    sent=sent, answers=answers, labels=OUTCOMES)
