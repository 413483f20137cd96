"""Coordinators' workbooks: status and results per collection, the statuses export and the group
report, each scoped to the coordinator's own schools, written atomically into
``outbox/reports/<coordinator>/``.

The warehouse is asked once per collection (statuses, and the current rows of each sheet); each
coordinator's share is then cut from those answers, so a thousand coordinators cost a thousand
workbooks, not a thousand queries per sheet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.errors import OperatorError
from flows.paths import inside
from flows.settings import Settings
from flows.workspace import open_warehouse
from forms import Collection, Form, Organisation, Participants, builtin_forms
from forms.coordinators import REPORT_KINDS, Coordinator, coordinators_from_registry, load_coordinators
from forms.ids import id_problem
from forms.status import OrgStatus, is_closed, status_of
from templates.coordinators import (
    render_group_report,
    render_results,
    render_status,
    render_statuses_export,
    report_file,
)
from templates.xlsx import write_atomic
from warehouse import Warehouse

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Written:
    coordinator: str
    kind: str
    collection: str | None
    path: Path


@dataclass(frozen=True)
class Snapshot:
    """What the warehouse says about one collection, read once for every coordinator."""

    collection: Collection
    form: Form
    statuses: list[OrgStatus]
    frames: dict[str, pl.DataFrame]  # sheet.table → current rows with login


def choose_collections(wh: Warehouse, ids: Sequence[str] | None) -> list[Collection]:
    for i in ids or ():  # an id from the command line, before it is looked up or becomes a path
        if (problem := id_problem("collection id", i)) is not None:
            raise OperatorError(problem)
    rows = {r.id: r for r in wh.collections()}
    if not rows:
        raise OperatorError("no collection is published yet: run `sbor publish COLLECTION.yaml` first")
    unknown = [i for i in ids or () if i not in rows]
    if unknown:
        raise OperatorError(f"no published collection {unknown[0]} (published: {', '.join(sorted(rows))})")
    chosen = [rows[i] for i in ids] if ids else list(rows.values())
    return [r.collection(Participants(logins=tuple(sorted(wh.participants(r.id))))) for r in chosen]


def choose_coordinators(settings: Settings, orgs: Sequence[Organisation], ids: Sequence[str] | None,
                        coordinators_file: Path | None) -> list[Coordinator]:
    everyone = (load_coordinators(coordinators_file) if coordinators_file
                else coordinators_from_registry(orgs, with_operator=True))
    if not ids:
        return list(everyone)
    by_id = {c.id: c for c in everyone}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise OperatorError(f"no coordinator {unknown[0]} (e.g. {', '.join(sorted(by_id)[:5])}, …)")
    return [by_id[i] for i in ids]


def snapshot(wh: Warehouse, collection: Collection, forms: dict[str, Form], with_rows: bool) -> Snapshot:
    form = forms[collection.form_id]
    frames = ({s.table: wh.current_rows(form, s, collection.id) for s in form.sheets}
              if with_rows else {})
    return Snapshot(collection, form, wh.statuses(collection.id), frames)


def _share(frames: dict[str, pl.DataFrame], logins: set[str]) -> dict[str, pl.DataFrame]:
    return {k: f.filter(pl.col("login").is_in(sorted(logins))) for k, f in frames.items()}


def write_reports(
    settings: Settings,
    wh: Warehouse,
    snapshots: list[Snapshot],
    coordinators: list[Coordinator],
    orgs: dict[str, Organisation],
    kinds: Sequence[str] = REPORT_KINDS,
    progress: Progress | None = None,
) -> list[Written]:
    now = settings.now()
    root = settings.reports_dir
    out: list[Written] = []

    def put(coord: Coordinator, kind: str, collection: str | None, data: bytes) -> None:
        # The coordinator's own folder is the root: another coordinator's is just as wrong.
        target = inside(inside(root, root / coord.id), report_file(root, coord, kind, collection))
        path = write_atomic(data, target, keep=settings.keep_reports, now=now)
        out.append(Written(coord.id, kind, collection, path))

    for coord in coordinators:
        visible = {login for login, org in orgs.items() if coord.sees(org)}
        for snap in snapshots:
            if visible.isdisjoint(snap.collection.participants.logins):
                continue  # none of its schools takes part: no workbook to send
            if "status" in kinds:
                put(coord, "status", snap.collection.id, render_status(snap.collection, coord, snap.statuses, now=now))
            if "results" in kinds:
                data = render_results(snap.form, snap.collection, coord, _share(snap.frames, visible), orgs, now=now)
                put(coord, "results", snap.collection.id, data)
        if "statuses" in kinds:
            entries = [(s.collection, row, str(status_of(row, is_closed(s.collection, now))))
                       for s in snapshots for row in s.statuses if coord.sees(row)]
            put(coord, "statuses", None, render_statuses_export(entries))
        if "group" in kinds and len(snapshots) > 1:
            statuses = {s.collection.id: s.statuses for s in snapshots}
            put(coord, "group", None, render_group_report([s.collection for s in snapshots], coord, statuses, now=now))
        if progress is not None:
            progress(1)
    return out


@task(name="read the warehouse", cache_policy=NO_CACHE)
def read_snapshots(settings: Settings, collection_ids: Sequence[str] | None, with_rows: bool) -> list[Snapshot]:
    wh = open_warehouse(settings)
    forms = builtin_forms()
    return [snapshot(wh, c, forms, with_rows) for c in choose_collections(wh, collection_ids)]


@task(name="write coordinator workbooks", cache_policy=NO_CACHE)
def write_task(settings: Settings, snapshots: list[Snapshot], coordinator_ids: Sequence[str] | None,
               coordinators_file: Path | None, kinds: Sequence[str], progress: Progress | None,
               on_total: Callable[[int], None] | None) -> list[Written]:
    wh = open_warehouse(settings)
    orgs = {o.login: o for o in wh.organisations()}
    coordinators = choose_coordinators(settings, list(orgs.values()), coordinator_ids, coordinators_file)
    if on_total is not None:
        on_total(len(coordinators))
    return write_reports(settings, wh, snapshots, coordinators, orgs, kinds, progress)


@flow(name="coordinator reports", validate_parameters=False)
def report_flow(
    settings: Settings,
    collection_ids: Sequence[str] | None = None,
    coordinator_ids: Sequence[str] | None = None,
    coordinators_file: Path | None = None,
    kinds: Sequence[str] = REPORT_KINDS,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> list[Written]:
    snapshots = read_snapshots(settings, collection_ids, "results" in kinds)
    return write_task(settings, snapshots, coordinator_ids, coordinators_file, kinds, progress, on_total)


@flow(name="status reports", validate_parameters=False)
def scheduled_status_flow(home: str, database_url: str | None = None) -> int:
    """The scheduled job: every coordinator's status workbooks for the open collections. Takes
    plain parameters, since a deployment stores them as JSON."""
    from flows.settings import load_settings

    settings = load_settings(home, database_url)
    wh = open_warehouse(settings)
    now = settings.now()
    open_ids = [r.id for r in wh.collections() if r.is_open(now)]
    if not open_ids:
        return 0
    return len(report_flow(settings, open_ids, kinds=("status", "group")))
