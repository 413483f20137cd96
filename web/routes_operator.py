"""The operator's pages: every account (schools and coordinators), searched and paged, blocked or
unblocked with the cabinet's own actions (``/accounts/{login}/block``), a school's one-time code
reset with ``/schools/{login}/reset``; every collection with its counts per region and whether it
may go into a group report (a mark that takes effect at once); every publication with its files
and their downloads."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from warehouse import monitoring as mon
from warehouse.operator_view import publication_files, search_accounts
from web.deps import ROLE_TITLES, CabDep, CsrfDep, OperatorDep, not_found
from web.routes_reports import grouping

router = APIRouter()


@router.get("/operator/accounts")
def accounts(request: Request, c: CabDep, user: OperatorDep, q: Annotated[str, Query(max_length=100)] = "",
             role: Annotated[str, Query(max_length=16)] = "",
             page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    chosen = role if role in ROLE_TITLES else ""
    size = c.web.page_size
    found = search_accounts(c.cabinet.accounts, user, q, role=chosen, offset=(page - 1) * size, limit=size)
    args = {k: v for k, v in (("q", q), ("role", chosen)) if v}
    return c.render(request, "monitor_accounts.html", user=user, csrf=request.state.session.csrf, found=found,
                    q=q, role=chosen, page=page, pages=max(1, -(-found.total // size)), query=urlencode(args))


@router.get("/operator/collections")
def collections(request: Request, c: CabDep, user: OperatorDep) -> Response:
    wh, now = c.cabinet.warehouse, c.web.settings.now()
    views = [mon.monitoring(wh, user, coll, now) for coll in wh.collections()]
    return c.render(request, "operator_collections.html", user=user, csrf=request.state.session.csrf,
                    views=views, groupable=grouping(request).groupable())


@router.post("/operator/collections/{collection_id}/groupable")
def mark_groupable(request: Request, c: CabDep, user: OperatorDep, _: CsrfDep, collection_id: str,
                   groupable: Annotated[bool, Form()] = False) -> Response:
    """Let a collection into coordinators' group reports, or take it out (effective at once;
    without ``groupable``, as an unticked box, out)."""
    if c.cabinet.warehouse.collection(collection_id) is None:
        raise not_found()
    grouping(request).mark(collection_id, groupable, user.login)
    return RedirectResponse(f"/operator/collections#c-{collection_id}", status_code=303)


@router.get("/operator/publications")
def publications(request: Request, c: CabDep, user: OperatorDep) -> Response:
    files = publication_files(c.cabinet.storage, user, [p.id for p in c.publications])
    return c.render(request, "operator_publications.html", user=user, csrf=request.state.session.csrf,
                    publications=c.publications, files=files)
