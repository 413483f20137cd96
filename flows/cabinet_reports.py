"""Reports asked for in the cabinet, made as Prefect flow runs in the background of ``sbor web``.

``cabinet_report_flow`` makes one request's workbook with ``flows.report``'s own pieces (the
warehouse read once, ``write_reports`` for one coordinator: the account), so a requested export
is the same workbook the schedule writes, in the same ``outbox/reports/<coordinator>/``.

``ReportRunner`` runs requests on a small thread pool of the web process: each run is a Prefect
flow run (seen in Prefect's UI, or its local database in ephemeral mode); its end is written to
the request row, which the bell reads. A run that raises is recorded as failed; a process
stopped mid-run leaves the row queued or running, and the next start resumes it.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run

from flows.paths import inside
from flows.report import choose_collections, snapshot, write_reports
from flows.settings import Settings
from flows.workspace import open_warehouse
from forms import Participants, builtin_forms
from forms.coordinators import Coordinator
from forms.publications import Publication
from templates.coordinators import render_downloads, render_group_report, render_named_results, report_file
from templates.xlsx import write_atomic
from warehouse import Warehouse
from warehouse.accounts import Account, Accounts
from warehouse.cabinet_tables import cabinet_tables
from warehouse.exports import Scope, results_share
from warehouse.grouping import Grouping
from warehouse.monitoring import scoped_statuses, visible_collections
from warehouse.report_requests import ReportRequest, ReportRequests
from warehouse.storage import Storage

KINDS = {"results": "Экспорт результатов", "statuses": "Экспорт статусов", "downloads": "Отчёт о скачивании",
         "group": "Групповой отчёт"}
# The group report's choice: the open collections among those picked, or all of them.
GROUP_CHOICES = {"open": "только открытые", "all": "все"}
BOOT_ENV = "SBOR_WEB_BOOT"
log = logging.getLogger(__name__)


class ReportFailed(RuntimeError):
    """A request that cannot be made as asked (its account or collection is gone)."""


def coordinator_of(login: str, role: str, region: str, municipality: str, title: str) -> Coordinator:
    """The account as ``flows.report`` knows coordinators: its territory, its login as the folder."""
    kind = role if role in ("regional", "municipal", "operator") else None
    if kind is None:
        raise ReportFailed(f"account {login} is no coordinator (role {role})")
    return Coordinator(login, kind, region if kind != "operator" else "",  # type: ignore[arg-type]
                       municipality if kind == "municipal" else None, title)


def downloads_workbook(settings: Settings, wh: Warehouse, account: Account, publication: Publication) -> Path:
    """The cabinet's «Отчёт о скачивании» of ``publication``, every row of ``account``'s scope,
    in the workbook of its «Выгрузить в Excel»."""
    storage = Storage(wh.engine, cabinet_tables(), wh.fixed)
    page = storage.download_report(account, publication.id, publication.participants, limit=None)
    now = settings.now()
    body = render_downloads(publication.title, account.title, ((r.login, r.name, r.municipality, r.title, r.first,
                                                                 r.last) for r in page.rows), now=now)
    path = settings.reports_dir / account.login / f"downloads_{publication.id}.xlsx"
    return write_atomic(body, path, keep=settings.keep_reports, now=now)


def group_workbook(settings: Settings, wh: Warehouse, account: Account, params: dict[str, str]) -> Path:
    """«Групповой отчёт» of the collections ``params`` names (comma-separated), cut again at
    run time to those the operator still lets be grouped and ``account`` still sees, and with
    ``which`` = open to those open now: organisations of ``account``'s scope × collections."""
    now = settings.now()
    asked = set(params["collections"].split(","))
    allowed = Grouping(wh.engine).groupable()
    chosen = [c for c in visible_collections(wh, account) if c.id in asked and c.id in allowed
              and (params.get("which") != "open" or c.is_open(now))]
    if not chosen:
        raise ReportFailed(f"none of {sorted(asked)} may be grouped for {account.login} now")
    coord = coordinator_of(account.login, account.role, account.region_code, account.municipality_code,
                           account.title)
    # The workbook reads each collection's id, title, section and window; its participants are
    # the status rows' (fetching 40,000 logins per collection for nothing is skipped).
    collections = [c.collection(Participants()) for c in chosen]
    statuses = {c.id: scoped_statuses(wh, account, c.id) for c in chosen}
    body = render_group_report(collections, coord, statuses, now=now)
    return write_atomic(body, report_file(settings.reports_dir, coord, "group"), keep=settings.keep_reports, now=now)


def results_workbook(settings: Settings, wh: Warehouse, coord: Coordinator, collection_id: str) -> Path:
    """«Экспорт результатов» of ``collection_id`` for ``coord``: the workbook the schedule
    writes for it (``flows.report``), from its own share read in one query per sheet
    (``warehouse.exports``) rather than every school's rows and the whole registry."""
    row = wh.collection(collection_id)
    if row is None:
        raise ReportFailed(f"no published collection {collection_id}")
    form = builtin_forms()[row.form_id]
    collection = row.collection(Participants())  # the workbook does not list participants
    scope = Scope() if coord.kind == "operator" else Scope(coord.region_code, coord.municipality_code)
    share = results_share(wh, form, collection_id, scope)
    if not share.takes_part:
        raise ReportFailed(f"none of {coord.id}'s schools takes part in {collection_id}")
    now = settings.now()
    body = render_named_results(form, collection, coord, share.frames, now=now)
    root = settings.reports_dir
    # The coordinator's own folder is the root, as flows.report.write_reports keeps it.
    target = inside(inside(root, root / coord.id), report_file(root, coord, "results", collection_id))
    return write_atomic(body, target, keep=settings.keep_reports, now=now)


@flow(name="cabinet report", validate_parameters=False)
def cabinet_report_flow(settings: Settings, request_id: int,
                        publications: tuple[Publication, ...] = ()) -> Path:
    """One request's workbook; returns its path. Raises when it cannot be made."""
    wh = open_warehouse(settings)
    try:
        requests = ReportRequests(wh.engine)
        req = requests.get(request_id)
        if req is None:
            raise ReportFailed(f"no report request {request_id}")
        requests.started(request_id, str(flow_run.id) if flow_run.id else None)
        account = Accounts(wh.engine, cabinet_tables(), settings.secret()).get(req.login)
        if account is None:
            raise ReportFailed(f"account {req.login} of request {request_id} is gone")
        if req.kind == "downloads":
            [publication] = [p for p in publications if p.id == req.params["publication"]] or [None]
            if publication is None:
                raise ReportFailed(f"request {request_id}: no publication {req.params['publication']}")
            path = kept_copy(downloads_workbook(settings, wh, account, publication))
            requests.finish(request_id, str(path.relative_to(settings.home)))
            return path
        if req.kind == "group":
            path = kept_copy(group_workbook(settings, wh, account, req.params))
            requests.finish(request_id, str(path.relative_to(settings.home)))
            return path
        coord = coordinator_of(account.login, account.role, account.region_code, account.municipality_code,
                               account.title)
        if req.kind == "results":
            path = kept_copy(results_workbook(settings, wh, coord, req.params["collection"]))
            requests.finish(request_id, str(path.relative_to(settings.home)))
            return path
        collections = choose_collections(wh, [req.params["collection"]])
        forms = builtin_forms()
        snapshots = [snapshot(wh, c, forms, False) for c in collections]
        orgs = {o.login: o for o in wh.organisations()}
        written = write_reports(settings, wh, snapshots, [coord], orgs, kinds=(req.kind,))
        if not written:
            raise ReportFailed(f"request {request_id}: none of {req.login}'s schools takes part")
        path = kept_copy(written[0].path)
        requests.finish(request_id, str(path.relative_to(settings.home)))
        return path
    finally:
        wh.engine.dispose()


def kept_copy(path: Path) -> Path:
    """The dated version ``write_atomic`` kept beside ``path`` for this very write (a hard link
    to the same bytes), so that a later export does not change what this request's link gives;
    it lasts as long as the workspace keeps reports (SBOR_KEEP_REPORTS). ``path`` when none."""
    inode = path.stat().st_ino
    same = [p for p in path.parent.glob(f"{path.stem}_*{path.suffix}") if p.stat().st_ino == inode]
    return same[0] if same else path


@contextmanager
def _api_from_environment() -> Iterator[None]:
    """Prefect reads PREFECT_API_URL once, at import, into a context new threads start from; a
    server configured later (``sbor serve``'s, or a test's) is seen in this thread only if it is
    put into the thread's settings here."""
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        yield
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield


class ReportRunner:
    """Runs report requests in the background of the web process."""

    def __init__(self, settings: Settings, requests: ReportRequests,
                 publications: tuple[Publication, ...] = (), workers: int = 2, boot: str | None = None) -> None:
        self.settings, self.requests, self.publications = settings, requests, publications
        # `sbor web` gives its workers one boot id (SBOR_WEB_BOOT); a process on its own has its own.
        self.boot = boot or os.environ.get(BOOT_ENV) or uuid.uuid4().hex
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sbor-report")

    def ask(self, login: str, kind: str, params: dict[str, str]) -> tuple[ReportRequest, bool]:
        """Record the request and start it, or join the identical one already running."""
        req, joined = self.requests.ask(login, kind, params)
        if not joined:
            self.submit(req.id)
        return req, joined

    def submit(self, request_id: int) -> Future[None]:
        return self._pool.submit(self._run, request_id)

    def resume(self) -> list[int]:
        """Start again every request a stopped process left unfinished."""
        ids = self.requests.unfinished()
        for request_id in ids:
            self.submit(request_id)
        return ids

    def _run(self, request_id: int) -> None:
        if not self.requests.claim(request_id, self.boot):
            return  # another worker of this start has it
        try:
            with _api_from_environment():
                cabinet_report_flow(self.settings, request_id, self.publications)
        except Exception as exc:  # noqa: BLE001 - whatever ended the run, the user must learn it failed
            log.exception("report request %s failed", request_id)
            self.requests.fail(request_id, f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
