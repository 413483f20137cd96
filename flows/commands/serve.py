"""`sbor serve`: the status workbooks on a cron, as a Prefect deployment."""

from __future__ import annotations

import os
import sys

import click

from flows.commands.context import settings_of


@click.command()
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

    settings = settings_of(click_ctx)
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
