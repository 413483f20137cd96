"""``sbor warehouse analyst-role``: the PostgreSQL role ``sbor sql`` logs in as, set up by the
operator once, and again by every ``sbor publish`` (see ``warehouse/analysts.py``)."""

from __future__ import annotations

from typing import Any

import click

from flows.settings import Settings
from flows.workspace import open_warehouse
from warehouse import WarehouseError


def ensure_analysts(settings: Settings) -> str | None:
    """Set up the analysts' role if the warehouse is PostgreSQL's. Returns a warning to print
    when the operator's database user may not do it: publishing goes on, and ``sbor sql``
    refuses to run until the role exists (it never falls back to the operator's user)."""
    wh = open_warehouse(settings)
    try:
        if wh.analyst is not None:
            wh.ensure_analyst_role()
    except WarehouseError as exc:
        return str(exc)
    finally:
        wh.engine.dispose()
    return None


@click.group("warehouse")
def warehouse_command() -> None:
    """Set up the warehouse for its readers.

    Example: sbor warehouse analyst-role
    """


@warehouse_command.command("analyst-role")
@click.pass_obj
def analyst_role(obj: Any) -> None:
    """Create (or repair) the PostgreSQL role that `sbor sql` runs as, and let it read sbor's
    tables and views and nothing else. The name is $SBOR_ANALYST_ROLE (default sbor_analyst);
    its password is derived from the workspace's secret. Needs a database user with CREATEROLE.
    `sbor publish` does the same; new tables and views are granted as they appear.

    Example: SBOR_ANALYST_ROLE=sbor_analyst sbor warehouse analyst-role
    """
    settings: Settings = obj.settings()
    wh = open_warehouse(settings)
    try:
        if wh.analyst is None:
            raise click.ClickException("the warehouse is SQLite: sbor sql opens its file read-only, no role is needed")
        wh.ensure_analyst_role()
    finally:
        wh.engine.dispose()
    click.echo(f"role {wh.analyst.name}: may read sbor's tables and views, nothing else; "
               f"queries stop after {wh.analyst.statement_timeout_s} s")
