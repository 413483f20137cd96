"""Publishing a collection: register it with its participants, then write one personalised
template per organisation into ``outbox/templates/<collection>/<login>.xlsx``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.errors import OperatorError
from flows.paths import inside
from flows.settings import Settings
from flows.workspace import open_warehouse
from flows.writing import write_templates
from forms import Collection, Form, Organisation, builtin_forms
from templates import TemplateFactory

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Published:
    collection: Collection
    form: Form
    participants: int
    directory: Path
    bytes_written: int


def form_for(collection: Collection, forms: dict[str, Form] | None = None) -> Form:
    forms = builtin_forms() if forms is None else forms
    try:
        return forms[collection.form_id]
    except KeyError:
        known = ", ".join(sorted(forms))
        raise OperatorError(
            f"collection {collection.id} names form '{collection.form_id}', which is not one of: {known}"
        ) from None


def participants_of(settings: Settings, collection: Collection) -> list[Organisation]:
    """The organisations of the registry that ``collection``'s participants rule chooses; an
    operator error if there are none."""
    everyone = open_warehouse(settings).organisations()
    if not everyone:
        raise OperatorError("the registry is empty: load one first with `sbor registry load FILE.csv`")
    chosen = collection.participants.select(everyone)
    if not chosen:
        raise OperatorError(f"collection {collection.id}: no organisation in the registry matches its participants")
    return chosen


def check_publishable(settings: Settings, collection: Collection) -> None:
    """The operator's mistakes a publish would meet (a form that does not exist, participants
    that match nobody), raised before any flow runs: inside one, Prefect logs the failed run's
    traceback before the command can print its one line. Costs one more read of the registry."""
    form_for(collection)
    participants_of(settings, collection)


# Tasks here have side effects and take resources (callbacks, settings): never cache them.
@task(name="register collection", cache_policy=NO_CACHE)
def register(settings: Settings, collection: Collection, form: Form) -> list[Organisation]:
    chosen = participants_of(settings, collection)
    open_warehouse(settings).publish(collection, form, [o.login for o in chosen])
    return chosen


@task(name="write templates", cache_policy=NO_CACHE)
def render_all(
    settings: Settings,
    collection: Collection,
    form: Form,
    orgs: list[Organisation],
    progress: Progress | None,
) -> int:
    factory = TemplateFactory(form, collection, settings.secret())
    directory = inside(settings.templates_dir, settings.templates_dir / collection.id)
    return write_templates(factory, orgs, directory, progress, settings.workers)


@flow(name="publish", validate_parameters=False)
def publish_flow(
    settings: Settings,
    collection: Collection,
    progress: Progress | None = None,
    on_participants: Callable[[int], None] | None = None,
) -> Published:
    form = form_for(collection)
    orgs = register(settings, collection, form)
    if on_participants is not None:
        on_participants(len(orgs))
    written = render_all(settings, collection, form, orgs, progress)
    return Published(collection, form, len(orgs), settings.templates_dir / collection.id, written)
