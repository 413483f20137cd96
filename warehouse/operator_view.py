"""The operator's view of the cabinet (issue 14): every account, searched by login or name, a page
at a time, with its role and whether it is blocked; and every collection's counts per region
(``warehouse.monitoring``, which gives the operator a line per region)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from warehouse.accounts import Account, Accounts
from warehouse.engine import guarded


@dataclass(frozen=True)
class AccountPage:
    rows: tuple[Account, ...]
    total: int


def search_accounts(accounts: Accounts, by: Account, search: str = "", *, role: str = "",
                    offset: int = 0, limit: int = 50) -> AccountPage:
    """Accounts of every role whose login or title holds ``search`` (the operator only: anyone
    else gets an empty page, whatever the route asks)."""
    if by.role != "operator":
        return AccountPage((), 0)
    a = accounts.t.accounts
    query = sa.select(a.c.login, a.c.role, a.c.region_code, a.c.municipality_code, a.c.title, a.c.blocked)
    if search:
        # As the participant list: SQLite folds ASCII only, so the usual spellings are tried too.
        needle = search.strip()
        spellings = sorted({needle, needle.lower(), needle.capitalize(), needle.upper()})
        query = query.where(sa.or_(sa.func.lower(a.c.login).contains(needle.lower(), autoescape=True),
                                   *[a.c.title.contains(s, autoescape=True) for s in spellings]))
    if role:
        query = query.where(a.c.role == role)
    with guarded(accounts.engine) as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(a.c.login).offset(offset).limit(limit))
        return AccountPage(tuple(Account(r.login, r.role, r.region_code, r.municipality_code, r.title,
                                         bool(r.blocked)) for r in rows), total)
