"""`sbor registry`: load or generate the registry of organisations."""

from __future__ import annotations

from pathlib import Path

import click

from flows.commands.context import Context, console, pass_ctx
from flows.workspace import open_warehouse


@click.group()
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
