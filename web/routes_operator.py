"""The operator's accounts page: every account (schools and coordinators), searched and paged,
blocked or unblocked with the cabinet's own actions (``/accounts/{login}/block``), a school's
one-time code reset with ``/schools/{login}/reset``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from warehouse.operator_view import search_accounts
from web.deps import ROLE_TITLES, CabDep, OperatorDep

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
