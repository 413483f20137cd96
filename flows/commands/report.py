"""`sbor report` and `sbor status`: what the coordinators get and see."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from flows.commands.context import Context, console, pass_ctx, progress_bar
from flows.errors import OperatorError
from flows.settings import Settings
from flows.workspace import open_warehouse
from forms.coordinators import REPORT_KINDS

if TYPE_CHECKING:  # imported where used: the command line starts without the flows' weight
    from flows.report import Written


@click.command()
@click.option("--collection", "collections", multiple=True, help="A published collection id (repeat; default: all).")
@click.option("--coordinator", "coordinators", multiple=True,
              help="A coordinator id: reg77, mun7701 or operator (repeat; default: every one).")
@click.option("--coordinators-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Coordinators CSV (id,kind,region_code,municipality_code,name); "
                   "default: one per region and municipality of the registry.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(REPORT_KINDS),
              help="Which workbooks (repeat; default: all four).")
@pass_ctx
def report(ctx: Context, collections: tuple[str, ...], coordinators: tuple[str, ...],
           coordinators_file: Path | None, kinds: tuple[str, ...]) -> None:
    """Write the coordinators' workbooks into outbox/reports/<coordinator>/: status and results per
    collection, the statuses export and the group report, each with only the coordinator's schools.

    Example: sbor report --coordinator reg77 --collection spo-specialities-2026
    """
    from forms.ids import id_problem

    # Before any flow starts: an id is part of every workbook's path.
    for problem in filter(None, (id_problem("collection id", c) for c in collections)):
        raise OperatorError(problem)
    if coordinators_file is not None:
        from forms.coordinators import load_coordinators

        # Read here too, so that a bad file is one line before Prefect starts (inside a flow
        # run, Prefect logs the error with its traceback).
        load_coordinators(coordinators_file)
    written = run_report(ctx.settings(), collections or None, coordinators or None, coordinators_file,
                         kinds or None)
    print_reports(written)


def run_report(settings: Settings, collections: Sequence[str] | None = None, coordinators: Sequence[str] | None = None,
               coordinators_file: Path | None = None, kinds: Sequence[str] | None = None) -> list[Written]:
    from flows.prefect_local import bind_temporary_server
    from flows.report import report_flow

    bind_temporary_server()  # dies with this command, even on a kill -9

    with progress_bar("coordinators") as bar:
        return report_flow(settings, collections, coordinators, coordinators_file, kinds or REPORT_KINDS,
                           progress=bar.advance, on_total=bar.total)


def print_reports(written: list[Written]) -> None:
    from collections import Counter

    by_kind = Counter(w.kind for w in written)
    coordinators = {w.coordinator for w in written}
    console.print(f"{len(written)} workbooks for {len(coordinators)} coordinators: "
                  + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())))
    if written:
        console.print(f"in {written[0].path.parent.parent}")


@click.command()
@click.argument("collection", required=False)
@click.option("--region", help="Only this region (two digits); the table is then per municipality.")
@click.option("--json", "as_json", is_flag=True, help="Counts and the table as one JSON object.")
@pass_ctx
def status(ctx: Context, collection: str | None, region: str | None, as_json: bool) -> None:
    """Print where a collection stands: the counts as the coordinators see them, and a table per
    region (or per municipality of one region); then, for the operator, the files left in the
    inbox and why, and the stale claims recovered (alone when no COLLECTION is given).

    Example: sbor status spo-specialities-2026 --region 77
    """
    from collections import Counter

    from flows.leftover import inbox_report, print_inbox
    from flows.report import choose_collections
    from forms.status import COUNT_LABELS, is_closed, status_of, summarize

    settings = ctx.settings()
    inbox = inbox_report(settings)
    if collection is None:
        if as_json:
            click.echo(json.dumps({"inbox": inbox.as_json()}, ensure_ascii=False))
        else:
            print_inbox(inbox, console)
        return
    wh = open_warehouse(settings)
    [coll] = choose_collections(wh, [collection])
    closed = is_closed(coll, settings.now())
    rows = wh.statuses(coll.id, region=region)
    summary = summarize(rows, closed)
    by_place: dict[str, Counter[str]] = {}
    for r in rows:
        place = f"{r.municipality_code} {r.municipality_name}" if region else f"{r.region_code} {r.region_name}"
        by_place.setdefault(place, Counter())[COUNT_LABELS[status_of(r, closed)]] += 1
    labels = [label for label, _ in summary.lines()]
    if as_json:
        click.echo(json.dumps({"collection": coll.id, "closed": closed, "counts": dict(summary.lines()),
                               "by_place": {p: dict(c) for p, c in by_place.items()},
                               "inbox": inbox.as_json()}, ensure_ascii=False))
        return
    state = "closed" if closed else "open"
    console.print(f"{coll.id} ({state}): " + "  ".join(f"{label}: {n}" for label, n in summary.lines()))
    table = Table(title="by municipality" if region else "by region")
    table.add_column("municipality" if region else "region")
    for label in labels[1:]:
        table.add_column(label, justify="right")
    for place, counts in sorted(by_place.items()):
        table.add_row(place, *(str(counts.get(label, 0)) for label in labels[1:]))
    console.print(table)
    print_inbox(inbox, console)
