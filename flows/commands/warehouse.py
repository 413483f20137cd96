"""`sbor warehouse`: set the warehouse up for its readers (the analysts' role, flows/analysts.py)."""

from __future__ import annotations

import click

from flows.commands.context import Context, pass_ctx
from flows.workspace import open_warehouse


@click.group("warehouse")
def warehouse_command() -> None:
    """Set up the warehouse for its readers.

    Example: sbor warehouse analyst-role
    """


@warehouse_command.command("analyst-role")
@pass_ctx
def analyst_role(ctx: Context) -> None:
    """Create (or repair) the PostgreSQL role that `sbor sql` runs as, and let it read sbor's
    tables and views and nothing else. The name is $SBOR_ANALYST_ROLE (default sbor_analyst);
    its password is derived from the workspace's secret. Needs a database user with CREATEROLE.
    `sbor publish` does the same; new tables and views are granted as they appear.

    Example: SBOR_ANALYST_ROLE=sbor_analyst sbor warehouse analyst-role
    """
    wh = open_warehouse(ctx.settings())
    try:
        if wh.analyst is None:
            raise click.ClickException("the warehouse is SQLite: sbor sql opens its file read-only, no role is needed")
        wh.ensure_analyst_role()
    finally:
        wh.engine.dispose()
    click.echo(f"role {wh.analyst.name}: may read sbor's tables and views, nothing else; "
               f"queries stop after {wh.analyst.statement_timeout_s} s")
