"""Reports a coordinator asks for in the cabinet («Экспорт результатов», «Экспорт статусов»):
one row per request, from «формируется» to a file or a failure, read by the bell and «Мои
отчёты». The row is the truth a restarted ``sbor web`` resumes from: a request left queued or
running is run again, so none is lost.

The table lives in a MetaData of its own, like the cabinet's, and is created beside them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.engine import create_missing, guarded
from warehouse.tables import UtcDateTime

State = Literal["queued", "running", "ready", "failed"]
UNFINISHED: tuple[State, ...] = ("queued", "running")

metadata = sa.MetaData()
report_requests = sa.Table(
    "report_requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("login", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # canonical JSON: equal requests compare equal
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("file", sa.Text),  # relative to the workspace's home
    sa.Column("error", sa.Text),  # for the operator (English); the user reads a Russian sentence
    sa.Column("flow_run_id", sa.String(64)),
    # Which start of `sbor web` runs it: the workers of one start share it, so exactly one of
    # them takes a request, and a request of an earlier start is taken again once.
    sa.Column("runner", sa.String(64)),
    sa.Column("seen", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime),
    sa.CheckConstraint("state IN ('queued', 'running', 'ready', 'failed')", name="ck_report_state"),
    sa.Index("ix_report_requests_mine", "login", "state"),
)


@dataclass(frozen=True)
class ReportRequest:
    id: int
    login: str
    kind: str
    params: dict[str, str]
    state: State
    file: str | None
    error: str | None
    flow_run_id: str | None
    seen: bool
    created_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state in ("ready", "failed")


def _row(r: Any) -> ReportRequest:
    return ReportRequest(r["id"], r["login"], r["kind"], json.loads(r["params"]), r["state"], r["file"],
                         r["error"], r["flow_run_id"], bool(r["seen"]), r["created_at"], r["finished_at"])


def canonical(params: dict[str, str]) -> str:
    return json.dumps(params, sort_keys=True, ensure_ascii=False)


class ReportRequests:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.t = report_requests

    def create(self) -> None:
        create_missing(self.engine, metadata)

    def ask(self, login: str, kind: str, params: dict[str, str]) -> tuple[ReportRequest, bool]:
        """A new request, or the identical one of ``login`` still being made (joined: True)."""
        t, key = self.t, canonical(params)
        with guarded(self.engine, write=True) as conn:
            running = conn.execute(sa.select(t).where(
                t.c.login == login, t.c.kind == kind, t.c.params == key, t.c.state.in_(UNFINISHED))
                .order_by(t.c.id).limit(1)).mappings().first()
            if running is not None:
                return _row(running), True
            new_id = conn.execute(sa.insert(t).values(
                login=login, kind=kind, params=key, state="queued", seen=False,
                created_at=datetime.now(UTC))).inserted_primary_key[0]
            row = conn.execute(sa.select(t).where(t.c.id == new_id)).mappings().one()
        return _row(row), False

    def get(self, request_id: int, login: str | None = None) -> ReportRequest | None:
        """The request; with ``login``, only if it is that account's own."""
        query = sa.select(self.t).where(self.t.c.id == request_id)
        if login is not None:
            query = query.where(self.t.c.login == login)
        with guarded(self.engine) as conn:
            row = conn.execute(query).mappings().first()
        return _row(row) if row else None

    def claim(self, request_id: int, runner: str) -> bool:
        """Take an unfinished request for ``runner`` unless that runner has it already."""
        t = self.t
        with guarded(self.engine, write=True) as conn:
            done = conn.execute(sa.update(t).where(
                t.c.id == request_id, t.c.state.in_(UNFINISHED),
                sa.or_(t.c.runner.is_(None), t.c.runner != runner)).values(runner=runner))
        return done.rowcount == 1

    def started(self, request_id: int, flow_run_id: str | None) -> None:
        with guarded(self.engine, write=True) as conn:
            conn.execute(sa.update(self.t).where(self.t.c.id == request_id)
                         .values(state="running", flow_run_id=flow_run_id))

    def finish(self, request_id: int, file: str) -> None:
        self._end(request_id, state="ready", file=file, error=None)

    def fail(self, request_id: int, error: str) -> None:
        self._end(request_id, state="failed", error=error[:2000])

    def _end(self, request_id: int, **values: Any) -> None:
        with guarded(self.engine, write=True) as conn:
            conn.execute(sa.update(self.t).where(self.t.c.id == request_id)
                         .values(**values, seen=False, finished_at=datetime.now(UTC)))

    def mine(self, login: str, limit: int = 100) -> list[ReportRequest]:
        with guarded(self.engine) as conn:
            rows = conn.execute(sa.select(self.t).where(self.t.c.login == login)
                                .order_by(self.t.c.id.desc()).limit(limit)).mappings()
            return [_row(r) for r in rows]

    def news(self, login: str) -> list[ReportRequest]:
        """Finished requests ``login`` has not looked at: the bell's count and its last line."""
        t = self.t
        with guarded(self.engine) as conn:
            rows = conn.execute(sa.select(t).where(t.c.login == login, t.c.state.in_(("ready", "failed")),
                                                   t.c.seen.is_(False)).order_by(t.c.id.desc())).mappings()
            return [_row(r) for r in rows]

    def mark_seen(self, login: str) -> None:
        t = self.t
        with guarded(self.engine, write=True) as conn:
            conn.execute(sa.update(t).where(t.c.login == login, t.c.state.in_(("ready", "failed")),
                                            t.c.seen.is_(False)).values(seen=True))

    def unfinished(self) -> list[int]:
        """Requests a stopped ``sbor web`` left queued or running, oldest first."""
        with guarded(self.engine) as conn:
            return list(conn.scalars(sa.select(self.t.c.id).where(self.t.c.state.in_(UNFINISHED))
                                     .order_by(self.t.c.id)))
