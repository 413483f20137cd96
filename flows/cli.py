"""The ``sbor`` command line: the group, its verbs, and the edge where our errors become one line.

The verbs live in ``flows/commands/``, one module per verb group; they parse their arguments, call
the flows and print the result. Every operator error is one line in English on stderr with a
non-zero exit; a traceback is a bug. Prefect is imported only once its home is set to the
workspace's runtime folder, so a run never writes into the operator's ``~/.prefect``.
"""

from __future__ import annotations

import sys

import click

from flows.commands.cabinet import accounts_command, files_command, web_command
from flows.commands.collections import collections_command
from flows.commands.context import Context, err_console, prepare_prefect
from flows.commands.demo import demo
from flows.commands.ingest import ingest
from flows.commands.publish import publish
from flows.commands.registry import registry
from flows.commands.report import report, status
from flows.commands.scale import scale_command
from flows.commands.serve import serve
from flows.commands.sql import sql
from flows.commands.warehouse import warehouse_command
from flows.commands.watch import watch_command
from flows.settings import load_settings
from forms.errors import SborError

__all__ = ["Context", "cli", "main", "run"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False),
              help="Workspace folder (default: $SBOR_HOME or the current directory).")
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


for command in (registry, publish, ingest, report, status, serve, demo, sql, watch_command, warehouse_command,
                scale_command, accounts_command, files_command, web_command, collections_command):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Entry point: turn our own errors into one line and an exit code, never a traceback."""
    try:
        cli.main(args=argv, prog_name="sbor", standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        return 130
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()} (see sbor --help)", err=True)
        return exc.exit_code
    except SborError as exc:  # every error of ours derives from it (forms/errors.py)
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
