"""Every school's template written to disk, on lanes for a large publish.

Pure writing: no Prefect here, so that a helper process starts in well under a second.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from flows.children import lanes
from forms import Collection, Form, Organisation
from templates import TemplateFactory

Progress = Callable[[int], None]

# From this many templates a publish writes on ``workers`` lanes (this process and spawned
# helpers, as ingest does: flows/lanes.py): a helper's start costs about a second of a core,
# some 4,000 templates' worth.
PARALLEL_TEMPLATES_FROM = 4000
_CHUNK = 500  # templates a lane takes at a time (the last ones are a lane's wait at the end)


def write_templates(
    factory: TemplateFactory,
    orgs: Sequence[Organisation],
    directory: Path,
    progress: Progress | None = None,
    workers: int = 1,
    parallel_from: int = PARALLEL_TEMPLATES_FROM,
) -> int:
    """Write every organisation's template; each file appears whole (temporary name, then
    rename), so a school never downloads half a workbook. Returns the bytes written. From
    ``parallel_from`` templates on, ``workers`` processes write them."""
    directory.mkdir(parents=True, exist_ok=True)
    if workers < 2 or len(orgs) < parallel_from:
        return _write_some(factory, orgs, directory, progress)
    size = max(1, min(_CHUNK, -(-len(orgs) // (2 * workers))))  # at least two chunks a lane
    chunks = [list(orgs[i:i + size]) for i in range(0, len(orgs), size)]
    done = None if progress is None else (lambda chunk: progress(len(chunk)))
    here, there = partial(_write_some, factory, directory=directory), partial(_write_chunk, directory=directory)
    with lanes(workers, here, there, _start_writer, factory.form, factory.collection, factory.secret) as made:
        return sum(made.map(chunks, done))


def _write_some(factory: TemplateFactory, orgs: Sequence[Organisation], directory: Path,
                progress: Progress | None = None) -> int:
    total = 0
    for i, org in enumerate(orgs, start=1):
        data = factory.render(org)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".xlsx")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, directory / f"{org.login}.xlsx")
        total += len(data)
        if progress is not None and i % 100 == 0:
            progress(100)
    if progress is not None and len(orgs) % 100:
        progress(len(orgs) % 100)
    return total


_WRITER: list[TemplateFactory] = []  # in a helper process: its factory, built once


def _start_writer(form: Form, collection: Collection, secret: bytes) -> None:
    _WRITER.append(TemplateFactory(form, collection, secret))


def _write_chunk(orgs: list[Organisation], directory: Path) -> int:
    return _write_some(_WRITER[0], orgs, directory)
