"""The ``sbor`` command line: parse the arguments, call the flows, print the result.

Every operator error is one line in English on stderr with a non-zero exit; a traceback is a bug.
Prefect is imported only once its home is set to the workspace's runtime folder, so a run never
writes into the operator's ``~/.prefect``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows.errors import OperatorError
from flows.settings import Settings, SettingsError, load_settings
from flows.workspace import open_warehouse

console = Console()
err_console = Console(stderr=True)


def prepare_prefect(settings: Settings, verbose: bool = False) -> None:
    """Point Prefect at the workspace before it is imported (it reads its settings then)."""
    settings.runtime.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(settings.runtime / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The first ephemeral start migrates Prefect's own database: slow on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


class Bar:
    """A progress bar on stderr that flows advance; its total is set once the flow knows it."""

    def __init__(self, bar: Progress, task_id: TaskID) -> None:
        self._bar, self._task = bar, task_id

    def advance(self, n: int) -> None:
        self._bar.advance(self._task, n)

    def total(self, n: int) -> None:
        self._bar.update(self._task, total=n)


@contextmanager
def progress_bar(label: str) -> Iterator[Bar]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=False) as bar:
        yield Bar(bar, bar.add_task(label, total=None))


class Context:
    """What the group's options decided, handed to every command."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def settings(self) -> Settings:
        return self._settings


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), help="Workspace folder (default: $SBOR_HOME or the current directory).")
@click.option("--database-url", help="Warehouse URL (default: $SBOR_DATABASE_URL or SQLite in HOME/var).")
@click.option("--now", help="Pretend it is this Moscow time (ISO), for rehearsals: 2026-12-01T10:00.")
@click.option("-v", "--verbose", is_flag=True, help="Show Prefect's run logs.")
@click.option("--trust-flat-inbox/--no-trust-flat-inbox", default=None,
              help="Credit a file put straight into inbox/ (no login folder) to the login its template "
                   "names (default: $SBOR_TRUST_FLAT_INBOX, off: such files are refused).")
@click.pass_context
def cli(ctx: click.Context, home: str | None, database_url: str | None, now: str | None, verbose: bool,
        trust_flat_inbox: bool | None) -> None:
    """sbor: collect tabular reports from thousands of organisations through Excel.

    Example: sbor demo
    """
    settings = load_settings(home, database_url, now=now, trust_flat_inbox=trust_flat_inbox)
    prepare_prefect(settings, verbose)
    ctx.obj = Context(settings)


# --- registry -------------------------------------------------------------------------------


@cli.group()
def registry() -> None:
    """Load or generate the registry of organisations.

    Example: sbor registry load registry.csv
    """


@registry.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def registry_load(ctx: Context, path: Path) -> None:
    """Load a registry CSV (login, names, region, municipality, kind, specialities) into the warehouse.

    Example: sbor registry load registry.csv
    """
    from forms.registry import load_registry
    settings = ctx.settings()
    orgs = load_registry(path)
    count = open_warehouse(settings).upsert_organisations(orgs)
    console.print(f"loaded {count} organisations from {path}")


@registry.command("generate")
@click.option("--size", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=0, show_default=True)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def registry_generate(size: int, seed: int, path: Path) -> None:
    """Write a synthetic registry of SIZE organisations over the 89 regions.

    Example: sbor registry generate --size 40000 registry.csv
    """
    from forms.registry import generate_registry, write_registry

    write_registry(generate_registry(size, seed), path)
    console.print(f"wrote {size} organisations to {path}")


# --- publish --------------------------------------------------------------------------------


def resolve_collection(ref: str) -> Any:
    """A collection file, or the id of one that ships with sbor."""
    from forms import load_collection
    from forms.loader import DATA_DIR

    path = Path(ref)
    if path.is_file():
        return load_collection(path)
    shipped = {c.id: c for c in (load_collection(p) for p in sorted((DATA_DIR.parent / "collections").glob("*.yaml")))}
    if ref in shipped:
        return shipped[ref]
    raise OperatorError(f"no collection file {ref} (and no built-in collection of that id: {', '.join(sorted(shipped))})")


@cli.command()
@click.argument("collection")
@click.option("--registry", "registry_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Load this registry CSV first.")
@pass_ctx
def publish(ctx: Context, collection: str, registry_path: Path | None) -> None:
    """Publish COLLECTION (a YAML file or a built-in id): register it and write one personalised
    template per participant into outbox/templates/<collection>/.

    Example: sbor publish forms/collections/spo_specialities_2026.yaml --registry registry.csv
    """
    settings = ctx.settings()
    coll = resolve_collection(collection)
    if registry_path is not None:
        from forms.registry import load_registry

        open_warehouse(settings).upsert_organisations(load_registry(registry_path))
    result = run_publish(settings, coll)
    print_published([result])
    from flows.analysts import ensure_analysts

    if (warning := ensure_analysts(settings)) is not None:
        click.echo(f"warning: {warning}", err=True)


def run_publish(settings: Settings, collection: Any) -> Any:
    from flows.prefect_local import bind_temporary_server
    from flows.publish import check_publishable, publish_flow

    check_publishable(settings, collection)  # one line for an operator's mistake, no traceback
    bind_temporary_server()  # dies with this command, even on a kill -9

    with progress_bar(f"templates {collection.id}") as bar:
        return publish_flow(settings, collection, progress=bar.advance, on_participants=bar.total)


def print_published(results: list[Any]) -> None:
    table = Table(title="Published collections")
    for col in ("collection", "form", "participants", "MB"):
        table.add_column(col, overflow="fold")
    for r in results:
        table.add_row(r.collection.id, f"{r.form.id} v{r.form.version}", str(r.participants),
                      f"{r.bytes_written / 1e6:.1f}")
    console.print(table)


# --- ingest ---------------------------------------------------------------------------------


@cli.command()
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


def run_ingest(settings: Settings, *, without_prefect: bool = False, quiet: bool = False) -> list[Any]:
    from flows.oneshot import ingest_once

    with progress_bar("ingest") as bar:
        return ingest_once(settings, without_prefect=without_prefect, progress=bar.advance, on_claimed=bar.total)


def print_outcomes(outcomes: list[Any], limit: int = 20) -> None:
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


def print_by_collection(outcomes: list[Any]) -> None:
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


# --- coordinators ---------------------------------------------------------------------------


@cli.command()
@click.option("--collection", "collections", multiple=True, help="A published collection id (repeat; default: all).")
@click.option("--coordinator", "coordinators", multiple=True,
              help="A coordinator id: reg77, mun7701 or operator (repeat; default: every one).")
@click.option("--coordinators-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Coordinators CSV (id,kind,region_code,municipality_code,name); default: one per region and municipality of the registry.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["status", "results", "statuses", "group"]),
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
    written = run_report(ctx.settings(), collections or None, coordinators or None, coordinators_file,
                         kinds or None)
    print_reports(written)


def run_report(settings: Settings, collections: Any = None, coordinators: Any = None,
               coordinators_file: Path | None = None, kinds: Any = None) -> list[Any]:
    from flows.prefect_local import bind_temporary_server
    from flows.report import KINDS, report_flow

    bind_temporary_server()  # dies with this command, even on a kill -9

    with progress_bar("coordinators") as bar:
        return report_flow(settings, collections, coordinators, coordinators_file, kinds or KINDS,
                           progress=bar.advance, on_total=bar.total)


def print_reports(written: list[Any]) -> None:
    from collections import Counter

    by_kind = Counter(w.kind for w in written)
    coordinators = {w.coordinator for w in written}
    console.print(f"{len(written)} workbooks for {len(coordinators)} coordinators: "
                  + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())))
    if written:
        console.print(f"in {written[0].path.parent.parent}")


@cli.command()
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


# --- serve ----------------------------------------------------------------------------------


@cli.command()
@click.option("--cron", default=None, help="When to write the status workbooks, Moscow time "
              "(default: $SBOR_STATUS_CRON or 0 8 * * *, daily at 08:00).")
@click.option("--port", default=4200, show_default=True, help="Port of the Prefect server sbor starts "
              "when PREFECT_API_URL is not set.")
@click.pass_context
def serve(click_ctx: click.Context, cron: str | None, port: int) -> None:
    """Run the schedules: every coordinator's status workbooks for the open collections, on a cron,
    as a Prefect deployment. Starts Prefect's server for this workspace unless PREFECT_API_URL names
    one, and prints where its UI is. Stop with Ctrl+C.

    Example: sbor serve --cron "0 8 * * *"
    """
    from flows.serve import DEFAULT_CRON, DEPLOYMENT, prefect_server, serve_schedules

    ctx: Context = click_ctx.obj
    settings = ctx.settings()
    schedule = cron or os.environ.get("SBOR_STATUS_CRON") or DEFAULT_CRON
    explicit_url = click_ctx.parent.params.get("database_url") if click_ctx.parent else None
    with prefect_server(settings, port) as served:
        started = "started a Prefect server" if served.started_server else "using the Prefect server"
        click.echo(f"sbor serve: {started} at {served.api_url}")
        click.echo(f"Prefect UI: {served.ui_url}")
        if served.log:
            click.echo(f"server log: {served.log}")
        click.echo(f"schedule: status-reports/{DEPLOYMENT} at '{schedule}' (Europe/Moscow), "
                   f"workbooks into {settings.reports_dir}")
        click.echo("press Ctrl+C to stop", err=False)
        sys.stdout.flush()
        try:
            serve_schedules(settings, schedule, explicit_url)
        except KeyboardInterrupt:
            click.echo("stopped")


# --- demo -----------------------------------------------------------------------------------


@cli.command()
@click.option("--size", default=300, show_default=True, type=click.IntRange(10, 100_000),
              help="Organisations in the synthetic registry.")
@pass_ctx
def demo(ctx: Context, size: int) -> None:
    """Run the whole cycle on the embedded default (SQLite, no servers): a synthetic registry, the
    three seed collections published, simulated schools returning their workbooks (some with
    mistakes, some corrected, a duplicate, hostile files), ingest and every school's answer, and
    the coordinators' status and result workbooks.

    Example: sbor --home /tmp/sbor-demo demo --size 300
    """
    import random

    from flows.demo import demo_registry, first_round, resend_and_hostile, second_round, seed_collections
    from flows.publish import form_for
    from forms.registry import load_registry

    settings = ctx.settings()
    registry_path = demo_registry(settings, size)
    wh = open_warehouse(settings)
    count = wh.upsert_organisations(load_registry(registry_path))
    console.print(f"registry: {count} synthetic organisations ({registry_path})")
    collections = seed_collections(settings)
    print_published([run_publish(settings, c) for c in collections])

    rng = random.Random(2026)
    to_correct = {}
    for c in collections:
        orgs = wh.organisations(sorted(wh.participants(c.id)))
        returned, to_correct[c.id] = first_round(settings, c, form_for(c), orgs, rng)
        console.print(f"{c.id}: {returned.good} correct files and {returned.with_errors} with mistakes in the inbox")
    first = run_ingest(settings)
    print_outcomes(first, limit=8)

    for c in collections:
        second_round(settings, c, form_for(c), to_correct[c.id], rng)
    accepted = next((o for o in first if o.outcome == "accepted" and o.login), None)
    kept = settings.archive / accepted.sha256[:2] / f"{accepted.sha256}.bin" if accepted else None
    resend_and_hostile(settings, kept, accepted.login if accepted else "spo000000")
    console.print("second round: corrected files, one file sent twice, a CSV renamed .xlsx, a truncated workbook")
    second = run_ingest(settings)
    print_outcomes(second, limit=0)
    print_by_collection(first + second)
    print_reports(run_report(settings))

    console.print(f"\ntemplates: {settings.templates_dir}")
    console.print(f"answers to schools: {settings.feedback_dir}")
    console.print(f"coordinators' workbooks: {settings.reports_dir} (e.g. reg77/, operator/)")
    console.print(f"warehouse: {settings.database_url}")
    home = f"--home {settings.home} " if settings.home != Path.cwd() else ""
    console.print("try:")
    # soft_wrap: a command to copy must stay on one line, however narrow the terminal.
    console.print(f'  sbor {home}sql "SELECT outcome, count(*) AS files FROM submissions GROUP BY outcome"',
                  soft_wrap=True)
    console.print(f'  sbor {home}sql "SELECT login, speciality, students FROM current_spo_specialities_specialities LIMIT 10"',
                  soft_wrap=True)
    console.print(f"  sbor {home}status spo-specialities-2026", soft_wrap=True)
    print_demo_cabinet(settings, home)


def print_demo_cabinet(settings: Settings, home: str) -> None:
    from flows.cabinet import demo_cabinet

    sign_ins = demo_cabinet(settings)
    console.print(f"\nthe cabinet: sbor {home}web, then open http://127.0.0.1:8000/ and sign in as", soft_wrap=True)
    for s in sign_ins:
        console.print(f"  {s.login} / {s.password}  ({s.who})", soft_wrap=True)
    console.print(f"one-time codes for every other account: {settings.outbox / 'accounts'}", soft_wrap=True)


# --- sql ------------------------------------------------------------------------------------


@cli.command()
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.option("--limit", default=1000, show_default=True, help="At most this many rows.")
@pass_ctx
def sql(ctx: Context, query: str, as_json: bool, as_csv: bool, limit: int) -> None:
    """Run a read-only SQL query against the warehouse and print the rows.

    Example: sbor sql "SELECT login, outcome FROM submissions ORDER BY id DESC LIMIT 5"
    """
    import csv

    settings = ctx.settings()
    wh = open_warehouse(settings)
    try:
        columns, rows = wh.sql(query, max_rows=limit)
    finally:
        wh.engine.dispose()  # the operator's pooled connection, closed with the command
    if as_json:
        for row in rows:
            click.echo(json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False, default=str))
    elif as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        table = Table()
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)


def _register_extensions() -> None:
    """Commands kept beside the flows they drive."""
    from flows.analysts import warehouse_command
    from flows.cabinet_cli import accounts_command, files_command, web_command
    from flows.scale import scale_command
    from flows.watch import watch_command

    cli.add_command(watch_command, "watch")
    cli.add_command(warehouse_command, "warehouse")
    cli.add_command(scale_command, "scale")
    for command in (accounts_command, files_command, web_command):
        cli.add_command(command)


_register_extensions()


def main(argv: list[str] | None = None) -> int:
    """Entry point: turn our own errors into one line and an exit code, never a traceback."""
    from forms import SpecError
    from forms.registry import RegistryError
    from warehouse import WarehouseError

    try:
        cli.main(args=argv, prog_name="sbor", standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        return 130
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()} (see sbor --help)", err=True)
        return exc.exit_code
    except (OperatorError, SpecError, RegistryError, SettingsError, WarehouseError) as exc:
        first, *rest = str(exc).splitlines() or [type(exc).__name__]
        click.echo(f"error: {first}", err=True)
        for line in rest:  # a registry error lists its bad lines below the one-line summary
            click.echo(line, err=True)
        return 1
    return 0



def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
