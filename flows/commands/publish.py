"""`sbor publish`: register a collection and write every participant's template."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from flows.commands.context import Context, console, pass_ctx, progress_bar
from flows.errors import OperatorError
from flows.settings import Settings
from flows.workspace import open_warehouse

if TYPE_CHECKING:  # imported where used: the command line starts without the flows' weight
    from flows.publish import Published
    from forms import Collection


def resolve_collection(ref: str) -> Collection:
    """A collection file, or the id of one that ships with sbor."""
    from forms import load_collection
    from forms.loader import DATA_DIR

    path = Path(ref)
    if path.is_file():
        return load_collection(path)
    shipped = {c.id: c for c in (load_collection(p) for p in sorted((DATA_DIR.parent / "collections").glob("*.yaml")))}
    if ref in shipped:
        return shipped[ref]
    raise OperatorError(f"no collection file {ref} "
                        f"(and no built-in collection of that id: {', '.join(sorted(shipped))})")


@click.command()
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


def run_publish(settings: Settings, collection: Collection) -> Published:
    from flows.prefect_local import bind_temporary_server
    from flows.publish import check_publishable, publish_flow

    check_publishable(settings, collection)  # one line for an operator's mistake, no traceback
    bind_temporary_server()  # dies with this command, even on a kill -9

    with progress_bar(f"templates {collection.id}") as bar:
        return publish_flow(settings, collection, progress=bar.advance, on_participants=bar.total)


def print_published(results: list[Published]) -> None:
    table = Table(title="Published collections")
    for col in ("collection", "form", "participants", "MB"):
        table.add_column(col, overflow="fold")
    for r in results:
        table.add_row(r.collection.id, f"{r.form.id} v{r.form.version}", str(r.participants),
                      f"{r.bytes_written / 1e6:.1f}")
    console.print(table)
