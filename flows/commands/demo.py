"""`sbor demo`: the whole cycle on a synthetic registry, and the cabinet's sign-ins."""

from __future__ import annotations

from pathlib import Path

import click

from flows.commands.context import Context, console, pass_ctx
from flows.commands.ingest import print_by_collection, print_outcomes, run_ingest
from flows.commands.publish import print_published, run_publish
from flows.commands.report import print_reports, run_report
from flows.settings import Settings
from flows.workspace import open_warehouse


@click.command()
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
    console.print(f'  sbor {home}sql "SELECT login, speciality, students '
                  'FROM current_spo_specialities_specialities LIMIT 10"',
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
