"""`sbor ingest`: one pass over the inbox, and the tables that show what it did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from flows.commands.context import Context, console, pass_ctx, progress_bar
from flows.settings import Settings

if TYPE_CHECKING:  # imported where used: the command line starts without the flows' weight
    from flows.pipeline import FileOutcome


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@click.option("--without-prefect", is_flag=True,
              help="Run in this process without Prefect's engine (cron jobs, crash drills).")
@pass_ctx
def ingest(ctx: Context, as_json: bool, without_prefect: bool) -> None:
    """Process every file in the inbox once: check it, load what is right, answer every school
    (a receipt, or its own workbook with every error marked) in outbox/feedback/.

    Example: sbor ingest --json
    """
    settings = ctx.settings()
    outcomes = run_ingest(settings, without_prefect=without_prefect, quiet=as_json)
    if as_json:
        for o in outcomes:
            click.echo(json.dumps(o.as_json(), ensure_ascii=False))
    else:
        print_outcomes(outcomes)


def run_ingest(settings: Settings, *, without_prefect: bool = False, quiet: bool = False) -> list[FileOutcome]:
    from flows.ingest import ingest as ingest_plain
    from flows.ingest import ingest_flow

    if not without_prefect:
        from flows.prefect_local import bind_temporary_server

        bind_temporary_server()  # dies with this command, even on a kill -9
    with progress_bar("ingest") as bar:
        if without_prefect:
            return ingest_plain(settings, progress=bar.advance, on_claimed=bar.total)
        return ingest_flow(settings, progress=bar.advance, on_claimed=bar.total)


def print_outcomes(outcomes: list[FileOutcome], limit: int = 20) -> None:
    from collections import Counter

    table = Table(title=f"Ingested {len(outcomes)} files")
    for col in ("file", "school", "outcome", "errors", "warnings", "feedback"):
        table.add_column(col, overflow="fold")
    for o in outcomes[:limit]:
        errors = sum(1 for f in o.findings if f.severity == "error")
        warnings = sum(1 for f in o.findings if f.severity == "warning")
        table.add_row(o.file, o.login or "?", o.outcome, str(errors), str(warnings),
                      Path(o.feedback).name if o.feedback else "")
    if len(outcomes) > limit:
        table.caption = f"first {limit} of {len(outcomes)} files; all of them: sbor ingest --json"
    if limit:
        console.print(table)
    counts = Counter(o.outcome for o in outcomes)
    console.print("  ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "the inbox is empty")


def print_by_collection(outcomes: list[FileOutcome]) -> None:
    from collections import Counter

    counts = Counter((o.collection or "(not identified)", o.outcome) for o in outcomes)
    kinds = sorted({k for _, k in counts})
    table = Table(title="Files by collection and outcome")
    table.add_column("collection")
    for k in kinds:
        table.add_column(k, justify="right")
    for coll in sorted({c for c, _ in counts}):
        table.add_row(coll, *(str(counts.get((coll, k), 0)) for k in kinds))
    console.print(table)
