"""The operator's view of the cabinet (issue 14): every account, searched by login or name, a page
at a time, with its role and whether it is blocked; every publication's files with their
downloads; and every collection's counts per region (``warehouse.monitoring``, which gives the
operator a line per region)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from warehouse.accounts import Account, Accounts
from warehouse.engine import guarded
from warehouse.storage import Storage


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


@dataclass(frozen=True)
class CommonFile:
    """A file for every participant of a publication, with how often it was fetched."""

    id: int
    title: str
    name: str
    size: int
    added_at: datetime
    downloads: int  # every download started, by anyone
    schools: int  # schools that downloaded it at least once


@dataclass(frozen=True)
class SchoolSet:
    """A set of per-school files under one title («Логины участников»): one file per school."""

    title: str
    files: int
    size: int  # of all its files
    added_at: datetime  # the latest file of the set
    downloads: int
    schools: int  # schools that downloaded their own file


@dataclass(frozen=True)
class PublicationFiles:
    common: tuple[CommonFile, ...]
    sets: tuple[SchoolSet, ...]


def publication_files(storage: Storage, by: Account, publication_ids: Sequence[str]) -> dict[str, PublicationFiles]:
    """Per publication, its common files and per-school sets with their downloads (the operator
    only: anyone else gets nothing, whatever the route asks). Files and downloads are counted in
    separate queries: joined, a set of 40,000 files would sum its sizes once per download."""
    if by.role != "operator" or not publication_ids:
        return {}
    f, d, o = storage.t.files, storage.t.downloads, storage.fixed.organisations
    mine = f.c.publication_id.in_(list(publication_ids))
    common = f.c.owner_login.is_(None)
    key = sa.case((common, sa.cast(f.c.id, sa.String)), else_=f.c.title)  # a common file alone, a set by title
    files = (sa.select(f.c.publication_id, key.label("key"), common.label("common"), sa.func.min(f.c.id),
                       sa.func.min(f.c.title), sa.func.min(f.c.name), sa.func.count(), sa.func.sum(f.c.size),
                       sa.func.max(f.c.added_at))
             .where(mine).group_by(f.c.publication_id, key, common))
    fetched = (sa.select(f.c.publication_id, key.label("key"), common.label("common"), sa.func.count(d.c.id),
                         sa.func.count(sa.distinct(o.c.login)))
               .join(d, d.c.file_id == f.c.id).outerjoin(o, o.c.login == d.c.login)
               .where(mine).group_by(f.c.publication_id, key, common))
    with guarded(storage.engine) as conn:
        counts = {(p, k, bool(c)): (int(n), int(s)) for p, k, c, n, s in conn.execute(fetched)}
        rows = list(conn.execute(files))
    out: dict[str, tuple[list[CommonFile], list[SchoolSet]]] = {p: ([], []) for p in publication_ids}
    for pub, k, is_common, first_id, title, name, n, size, added in rows:
        downloads, schools = counts.get((pub, k, bool(is_common)), (0, 0))
        added = _aware(added)
        if is_common:
            out[pub][0].append(CommonFile(int(first_id), title, name, int(size), added, downloads, schools))
        else:
            out[pub][1].append(SchoolSet(title, int(n), int(size or 0), added, downloads, schools))
    return {p: PublicationFiles(tuple(sorted(c, key=lambda x: x.title)), tuple(sorted(s, key=lambda x: x.title)))
            for p, (c, s) in out.items()}


def _aware(value: datetime | str) -> datetime:
    """Aggregates bypass the column type on SQLite (naive text comes back): UTC either way."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
