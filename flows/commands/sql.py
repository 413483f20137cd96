"""`sbor sql`: the analysts' read-only SQL against the warehouse."""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from flows.commands.context import Context, console, pass_ctx
from flows.workspace import open_warehouse


@click.command()
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
