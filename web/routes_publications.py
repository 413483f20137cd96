"""Publications by section, the favourites, one publication, and the per-user star and
collapsed state (manual 000, «Просмотр публикации»)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.engine import Connection

from forms.publications import Publication
from warehouse.accounts import Account
from web.deps import (
    Cab,
    CabDep,
    CsrfDep,
    UserDep,
    not_found,
    publication_for,
    reader,
    safe_next,
    signed_in,
    visible_publications,
)

router = APIRouter()
FAVOURITES = "Избранные публикации"


def _cards(c: Cab, user: Account, pubs: list[Publication], conn: Connection,
           prefs: dict[str, tuple[bool, bool]] | None = None) -> list[dict[str, object]]:
    storage = c.cabinet.storage
    prefs = storage.prefs(user.login, conn) if prefs is None else prefs
    cards = []
    for p in pubs:
        favourite, expanded = prefs.get(p.id, (False, False))
        files = storage.visible(user, p.id, conn) if expanded else []
        sets = storage.school_sets(user, p.id, conn) if expanded else []
        cards.append({"pub": p, "favourite": favourite, "expanded": expanded, "files": files, "sets": sets})
    # Favourites first within a section, as the manual shows them.
    return sorted(cards, key=lambda card: not card["favourite"])


@router.get("/")
def home(request: Request, c: CabDep, section: str = "") -> Response:
    with signed_in(c, request) as (user, db):
        pubs = visible_publications(c, user, db)
        sections = sorted({p.section for p in pubs})
        prefs = c.cabinet.storage.prefs(user.login, db)
        if section == FAVOURITES:
            shown = [p for p in pubs if prefs.get(p.id, (False, False))[0]]
        elif section:
            if section not in sections:
                raise not_found()
            shown = [p for p in pubs if p.section == section]
        else:
            shown = pubs
        cards = _cards(c, user, shown, db, prefs)
    return c.render(request, "home.html", user=user, csrf=request.state.session.csrf, sections=sections,
                    section=section, favourites=FAVOURITES, cards=cards, single=False,
                    here=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))


@router.get("/publications/{publication_id}")
def publication(request: Request, c: CabDep, publication_id: str) -> Response:
    storage = c.cabinet.storage
    with signed_in(c, request) as (user, db):
        pub = publication_for(c, user, publication_id, db)
        prefs = storage.prefs(user.login, db)
        card = {"pub": pub, "favourite": prefs.get(pub.id, (False, False))[0], "expanded": True,
                "files": storage.visible(user, pub.id, db), "sets": storage.school_sets(user, pub.id, db)}
    return c.render(request, "publication.html", user=user, csrf=request.state.session.csrf, card=card,
                    here=f"/publications/{pub.id}", single=True)


def _toggle(request: Request, c: Cab, user: Account, publication_id: str, what: str, back: str) -> Response:
    pub = publication_for(c, user, publication_id)
    c.cabinet.storage.toggle(user.login, pub.id, what)
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(safe_next(back), status_code=303)
    # htmx: the card alone, re-rendered from the server's state (no client-side state).
    with reader(c) as db:
        [card] = _cards(c, user, [pub], db)
    return c.render(request, "_card.html", user=user, csrf=request.state.session.csrf, card=card,
                    here=safe_next(back), single=False)


@router.post("/publications/{publication_id}/favourite")
def favourite(request: Request, c: CabDep, user: UserDep, _: CsrfDep, publication_id: str,
              back: Annotated[str, Form(max_length=512)] = "/") -> Response:
    return _toggle(request, c, user, publication_id, "favourite", back)


@router.post("/publications/{publication_id}/expanded")
def expanded(request: Request, c: CabDep, user: UserDep, _: CsrfDep, publication_id: str,
             back: Annotated[str, Form(max_length=512)] = "/") -> Response:
    return _toggle(request, c, user, publication_id, "expanded", back)
