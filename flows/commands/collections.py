"""``sbor collections groupable``: which published collections coordinators may put into one
«Групповой отчёт» (the operator's page /operator/collections marks the same)."""

from __future__ import annotations

import click

from flows.commands.context import console, settings_of


@click.group("collections")
def collections_command() -> None:
    """Published collections: which may go into coordinators' group reports.

    Example: sbor collections groupable vpr-org-info-2027 spo-specialities-2026
    """


@collections_command.command("groupable")
@click.argument("collection_ids", nargs=-1, metavar="[COLLECTION]...")
@click.option("--off", is_flag=True, help="Take the collections out of group reports instead.")
@click.pass_context
def groupable(ctx: click.Context, collection_ids: tuple[str, ...], off: bool) -> None:
    """Let COLLECTIONs into coordinators' group reports (with --off, take them out); effective at
    once in the cabinet. Without COLLECTION, list the collections that may be grouped.

    Example: sbor collections groupable vpr-org-info-2027 spo-specialities-2026
    """
    from flows.errors import OperatorError
    from flows.workspace import open_warehouse
    from warehouse.grouping import Grouping

    wh = open_warehouse(settings_of(ctx))
    try:
        grouping = Grouping(wh.engine)
        grouping.create()
        if collection_ids:
            published = {c.id for c in wh.collections()}
            unknown = [i for i in collection_ids if i not in published]
            if unknown:
                raise OperatorError(f"no published collection {unknown[0]} (published: "
                                    f"{', '.join(sorted(published)) or 'none'})")
            for collection_id in collection_ids:
                grouping.mark(collection_id, not off, by="sbor collections groupable")
        marked = sorted(grouping.groupable())
        console.print(f"may be grouped: {', '.join(marked)}" if marked else "no collection may be grouped")
    finally:
        wh.engine.dispose()
