"""What every command shares: the typed context the group hands down, the consoles, the
progress bar, and Prefect pointed at the workspace before it is imported."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from flows.settings import Settings

console = Console()
err_console = Console(stderr=True)


def prepare_prefect(settings: Settings, verbose: bool = False) -> None:
    """Point Prefect at the workspace before it is imported (it reads its settings then)."""
    settings.runtime.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(settings.runtime / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The first ephemeral start migrates Prefect's own database: slow on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


class Bar:
    """A progress bar on stderr that flows advance; its total is set once the flow knows it."""

    def __init__(self, bar: Progress, task_id: TaskID) -> None:
        self._bar, self._task = bar, task_id

    def advance(self, n: int) -> None:
        self._bar.advance(self._task, n)

    def total(self, n: int) -> None:
        self._bar.update(self._task, total=n)


@contextmanager
def progress_bar(label: str) -> Iterator[Bar]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=False) as bar:
        yield Bar(bar, bar.add_task(label, total=None))


@dataclass(frozen=True)
class Context:
    """What the group's options decided, handed to every command as click's ``ctx.obj``."""

    current: Settings

    def settings(self) -> Settings:
        return self.current


def settings_of(ctx: click.Context) -> Settings:
    """The settings of the ``sbor`` group above ``ctx``, for a command that needs click's own
    context too (the root's options, the parent group)."""
    return ctx.find_root().ensure_object(Context).settings()


pass_ctx = click.make_pass_decorator(Context)
