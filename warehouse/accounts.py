"""Accounts, server-side sessions and sign-in throttling, scoped the way the manuals scope roles.

A session is a row: signing out, blocking an account or resetting its password deletes its rows,
so every open session ends on its next request. Queries that list organisations take the
``Account`` and filter by its territory here, so no page can forget the scope.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from warehouse.cabinet_tables import CabinetTables
from warehouse.credentials import (
    code_hash,
    code_matches,
    hash_password,
    new_code,
    password_matches,
    session_hash,
)
from warehouse.engine import guarded, reading
from warehouse.loading import bulk_upsert, dialect_insert

# A session unused this long ends (a school's working day), and last_seen is written at most
# once a minute so that reading pages does not turn into a write per request.
IDLE_LIMIT = timedelta(hours=8)
TOUCH_EVERY = timedelta(minutes=1)
# Throttling. Per (login, address): from the 5th failure the pair waits 30 s, doubling to 15 min.
# Only that pair waits, so an attacker elsewhere cannot lock a school out of its own address.
# Per address: 50 failures within 15 minutes (any logins) make the address wait a minute.
PAIR_FREE = 5
PAIR_FIRST_WAIT = 30.0
MAX_WAIT = 900.0
ADDRESS_LIMIT = 50
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class SchoolPlace:
    """A school's organisation as far as a publication's participant rule reads it
    (``forms.collection.Placed``), read from the registry with the session."""

    login: str
    kind: str
    region_code: str
    municipality_code: str


@dataclass(frozen=True)
class Account:
    login: str
    role: str  # school, municipal, regional, operator
    region_code: str
    municipality_code: str
    title: str
    blocked: bool = False
    # A school's place in the registry as its session read it, on this request (None: not read,
    # or the login is in no registry row): what it sees is then decided without another query.
    place: SchoolPlace | None = field(default=None, compare=False)

    @property
    def is_coordinator(self) -> bool:
        return self.role != "school"


@dataclass(frozen=True)
class NewAccount:
    login: str
    role: str
    region_code: str
    municipality_code: str
    title: str


@dataclass(frozen=True)
class Session:
    account: Account
    csrf: str
    must_set_password: bool


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: an account (and whether it used its one-time code), or
    the seconds to wait before trying again."""

    account: Account | None
    with_code: bool = False
    wait_seconds: float = 0.0


def _now() -> datetime:
    return datetime.now(UTC)


def _db_time(conn: sa.Connection, moment: datetime) -> Any:
    """A moment as the raw driver takes it in bulk writes (SQLite keeps naive UTC text)."""
    if conn.dialect.name == "sqlite":
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def area_clause(account: Account, region: sa.ColumnElement[Any], municipality: sa.ColumnElement[Any],
                login: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """The organisations ``account`` may see, as a WHERE clause over the given columns."""
    return _area(account.role, region, municipality, login,
                 (account.region_code, account.municipality_code, account.login))


def bound_area_clause(role: str, region: sa.ColumnElement[Any], municipality: sa.ColumnElement[Any],
                      login: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """``area_clause`` for every account of ``role``, its territory left as bound parameters
    (``area_params`` gives their values): a statement built once per role serves every request,
    and SQLAlchemy need not build and key a new one each time."""
    return _area(role, region, municipality, login,
                 (sa.bindparam("area_region"), sa.bindparam("area_municipality"), sa.bindparam("area_login")))


def area_params(account: Account) -> dict[str, str]:
    return {"area_region": account.region_code, "area_municipality": account.municipality_code,
            "area_login": account.login}


def _area(role: str, region: sa.ColumnElement[Any], municipality: sa.ColumnElement[Any],
          login: sa.ColumnElement[Any], values: tuple[Any, Any, Any]) -> sa.ColumnElement[bool]:
    region_value, municipality_value, login_value = values
    if role == "operator":
        return sa.true()
    if role == "regional":
        return region == region_value
    if role == "municipal":
        return sa.and_(region == region_value, municipality == municipality_value)
    return login == login_value


class Accounts:
    def __init__(self, engine: Engine, tables: CabinetTables, secret: bytes,
                 organisations: sa.Table | None = None) -> None:
        self.engine, self.t, self._secret = engine, tables, secret
        s, a = tables.sessions, tables.accounts
        # Read on every request: built once (a new statement costs more to build and key than
        # the database takes to answer it). With the registry's table, a school's place rides
        # along (a primary-key lookup in the same statement), so the pages need no query of
        # their own to know which publications it sees.
        query = sa.select(s, *[c for c in a.c if c.name != "login"]).join(a, a.c.login == s.c.login)
        if organisations is not None:
            o = organisations
            query = query.outerjoin(o, sa.and_(a.c.role == "school", o.c.login == s.c.login)).add_columns(
                o.c.kind.label("place_kind"), o.c.region_code.label("place_region"),
                o.c.municipality_code.label("place_municipality"))
        self._session_query = query.where(s.c.id_hash == sa.bindparam("key"))

    # -- issuing -------------------------------------------------------------------------

    def issue(self, accounts: Sequence[NewAccount], *, reissue: bool = False) -> list[tuple[NewAccount, str]]:
        """A one-time code for every account that has no password yet (all of them with
        ``reissue``); returns the codes, which are stored only as hashes."""
        a = self.t.accounts
        with guarded(self.engine, write=True) as conn:
            settled = set() if reissue else set(conn.scalars(
                sa.select(a.c.login).where(a.c.password_hash.is_not(None))))
            chosen = [acc for acc in accounts if acc.login not in settled]
            issued = [(acc, new_code()) for acc in chosen]
            now = _db_time(conn, _now())
            # A new code does not unblock an account: "blocked" is written back as it was.
            blocked = set(conn.scalars(sa.select(a.c.login).where(a.c.blocked.is_(True))))
            columns = ("login", "role", "region_code", "municipality_code", "title",
                       "password_hash", "code_hash", "blocked", "issued_at")
            rows = [(acc.login, acc.role, acc.region_code, acc.municipality_code, acc.title, None,
                     code_hash(self._secret, code), acc.login in blocked, now) for acc, code in issued]
            bulk_upsert(conn, a, "login", columns, rows)
            # Sessions opened with an earlier code end with it.
            conn.execute(sa.delete(self.t.sessions) if reissue else
                         sa.delete(self.t.sessions).where(self.t.sessions.c.must_set_password.is_(True)))
        return issued

    def reset(self, by: Account, login: str) -> str | None:
        """A new one-time code for a school in ``by``'s scope (its password and sessions
        end); None when there is no such school for ``by``."""
        a = self.t.accounts
        if not by.is_coordinator:
            return None
        code = new_code()
        with guarded(self.engine, write=True) as conn:
            done = conn.execute(
                sa.update(a).where(a.c.login == login, a.c.role == "school",
                                   area_clause(by, a.c.region_code, a.c.municipality_code, a.c.login))
                .values(password_hash=None, code_hash=code_hash(self._secret, code), issued_at=_now()))
            if done.rowcount != 1:
                return None
            conn.execute(sa.delete(self.t.sessions).where(self.t.sessions.c.login == login))
        return code

    def set_blocked(self, login: str, blocked: bool) -> bool:
        """Block or unblock ``login``; a block ends its sessions at once. False: no account."""
        a = self.t.accounts
        with guarded(self.engine, write=True) as conn:
            done = conn.execute(sa.update(a).where(a.c.login == login).values(blocked=blocked))
            if blocked:
                conn.execute(sa.delete(self.t.sessions).where(self.t.sessions.c.login == login))
        return done.rowcount == 1

    def get(self, login: str) -> Account | None:
        a = self.t.accounts
        with guarded(self.engine) as conn:
            row = conn.execute(sa.select(a).where(a.c.login == login)).mappings().first()
        return _account(row) if row else None

    def schools(self, by: Account, search: str = "", limit: int = 50) -> list[Account]:
        """Schools in ``by``'s scope whose login starts with ``search``."""
        a = self.t.accounts
        query = (sa.select(a).where(a.c.role == "school",
                                    area_clause(by, a.c.region_code, a.c.municipality_code, a.c.login))
                 .order_by(a.c.region_code, a.c.municipality_code, a.c.login).limit(limit))
        if search:
            query = query.where(a.c.login.startswith(search, autoescape=True))
        with guarded(self.engine) as conn:
            return [_account(r) for r in conn.execute(query).mappings()]

    # -- signing in ----------------------------------------------------------------------

    def sign_in(self, login: str, secret: str, address: str) -> SignIn:
        """Check a login and a password or one-time code (both case-sensitive), with the
        throttle. The answer never says which of the two was wrong."""
        wait = self.wait_seconds(login, address)
        if wait > 0:
            return SignIn(None, wait_seconds=wait)
        a = self.t.accounts
        with guarded(self.engine) as conn:
            row = conn.execute(sa.select(a).where(a.c.login == login)).mappings().first()
        with_code = row is not None and code_matches(self._secret, secret, row["code_hash"])
        good = with_code or password_matches(row["password_hash"] if row else None, secret)
        if row is None or not good or row["blocked"]:
            self._fail(login, address)
            return SignIn(None)
        with guarded(self.engine, write=True) as conn:
            conn.execute(sa.delete(self.t.failures).where(
                self.t.failures.c.login == login[:64], self.t.failures.c.address == address[:64]))
        return SignIn(_account(row), with_code=with_code)

    def wait_seconds(self, login: str, address: str) -> float:
        f = self.t.failures
        now = _now()
        with guarded(self.engine) as conn:
            pair = conn.execute(sa.select(f.c.failures, f.c.last_at).where(
                f.c.login == login[:64], f.c.address == address[:64])).first()
            recent = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(f.c.failures), 0), sa.func.max(f.c.last_at))
                                  .where(f.c.address == address[:64], f.c.last_at > now - WINDOW)).first()
        wait = 0.0
        if pair is not None and pair.failures >= PAIR_FREE:
            hold = min(PAIR_FIRST_WAIT * 2 ** (pair.failures - PAIR_FREE), MAX_WAIT)
            wait = max(wait, (pair.last_at + timedelta(seconds=hold) - now).total_seconds())
        if recent is not None and recent[0] >= ADDRESS_LIMIT:
            wait = max(wait, (recent[1] + timedelta(seconds=60) - now).total_seconds())
        return max(wait, 0.0)

    def _fail(self, login: str, address: str) -> None:
        f = self.t.failures
        now = _now()
        with guarded(self.engine, write=True) as conn:
            # One statement, so two failures at once from two workers both count.
            insert = dialect_insert(conn.dialect.name, f).values(
                login=login[:64], address=address[:64], failures=1, last_at=now)
            conn.execute(insert.on_conflict_do_update(
                index_elements=[f.c.login, f.c.address],
                set_={"failures": f.c.failures + 1, "last_at": insert.excluded.last_at}))

    def set_password(self, login: str, password: str) -> None:
        """The person's own password; the one-time code is spent."""
        a = self.t.accounts
        with guarded(self.engine, write=True) as conn:
            conn.execute(sa.update(a).where(a.c.login == login)
                         .values(password_hash=hash_password(password), code_hash=None))
            conn.execute(sa.update(self.t.sessions).where(self.t.sessions.c.login == login)
                         .values(must_set_password=False))

    def change_password(self, login: str, current: str, new: str, address: str) -> SignIn:
        """A signed-in person's own change: ``current`` is checked as at sign-in (a wrong one
        counts toward the same throttle; a one-time code is no current password). On success the
        new password is set and every session of the account ends: the caller opens a fresh
        one for the browser that asked."""
        checked = self.sign_in(login, current, address)
        if checked.account is None or checked.with_code:
            return SignIn(None, wait_seconds=checked.wait_seconds)
        with guarded(self.engine, write=True) as conn:
            conn.execute(sa.update(self.t.accounts).where(self.t.accounts.c.login == login)
                         .values(password_hash=hash_password(new), code_hash=None))
            conn.execute(sa.delete(self.t.sessions).where(self.t.sessions.c.login == login))
        return checked

    # -- sessions ------------------------------------------------------------------------

    def open_session(self, account: Account, *, must_set_password: bool) -> str:
        """A new session id (a fresh one at every sign-in: no fixation); only its hash is kept."""
        session_id = secrets.token_urlsafe(32)
        now = _now()
        s = self.t.sessions
        with guarded(self.engine, write=True) as conn:
            # The account's sessions that idled out go now (the table does not grow forever).
            conn.execute(sa.delete(s).where(s.c.login == account.login, s.c.last_seen < now - IDLE_LIMIT))
            conn.execute(sa.insert(s).values(
                id_hash=session_hash(session_id), login=account.login, csrf=secrets.token_urlsafe(32),
                must_set_password=must_set_password, created_at=now, last_seen=now))
        return session_id

    def session(self, session_id: str, conn: Connection | None = None) -> Session | None:
        """The live session of ``session_id``: None when it ended, idled out or its account is
        blocked. Read from the database on every request (through ``conn``, the request's own
        connection, when given): no process keeps a session, so a sign-out, a block or a reset
        in another process ends it on its next request."""
        s = self.t.sessions
        now = _now()
        key = session_hash(session_id)
        with reading(self.engine, conn) as read:
            row = read.execute(self._session_query, {"key": key}).mappings().first()
        if row is None or row["blocked"] or now - row["last_seen"] > IDLE_LIMIT:
            return None
        if now - row["last_seen"] > TOUCH_EVERY:
            touch = sa.update(s).where(s.c.id_hash == key).values(last_seen=now)
            if conn is not None:
                # The caller's connection (a ``reader``, in autocommit): one statement is atomic
                # alone, and a second connection while it holds one could wait for ever.
                conn.execute(touch)
            else:
                with guarded(self.engine, write=True) as own:
                    own.execute(touch)
        place = (SchoolPlace(row["login"], row["place_kind"], row["place_region"], row["place_municipality"])
                 if row.get("place_kind") is not None else None)
        return Session(_account(row, place), row["csrf"], row["must_set_password"])

    def close_session(self, session_id: str) -> None:
        with guarded(self.engine, write=True) as conn:
            conn.execute(sa.delete(self.t.sessions).where(self.t.sessions.c.id_hash == session_hash(session_id)))


def _account(row: Any, place: SchoolPlace | None = None) -> Account:
    return Account(row["login"], row["role"], row["region_code"], row["municipality_code"],
                   row["title"], bool(row["blocked"]), place)
