"""Every school's template written to disk, on lanes for a large publish.

Pure writing: no Prefect here, so that a helper process starts in well under a second.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from pathlib import Path

from flows.children import die_with, ready
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
    chunks = [orgs[i:i + size] for i in range(0, len(orgs), size)]
    pool = ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_writer,
                               initargs=(factory.form, factory.collection, factory.secret, os.getpid()))
    here = threading.Lock()

    def lane(chunk: Sequence[Organisation]) -> int:
        if here.acquire(blocking=False):  # this process is a lane too
            try:
                return _write_some(factory, chunk, directory)
            finally:
                here.release()
        return pool.submit(_write_chunk, list(chunk), directory).result()

    total = 0
    with pool, ThreadPoolExecutor(workers, thread_name_prefix="sbor-publish") as threads:
        for _ in range(workers - 1):  # started now, from this thread (see flows/children.py)
            pool.submit(ready)
        futures = {threads.submit(lane, chunk): len(chunk) for chunk in chunks}
        for future in as_completed(futures):
            total += future.result()
            if progress is not None:
                progress(futures[future])
    return total


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


def _start_writer(form: Form, collection: Collection, secret: bytes, parent: int) -> None:
    die_with(parent)
    _WRITER.append(TemplateFactory(form, collection, secret))


def _write_chunk(orgs: list[Organisation], directory: Path) -> int:
    return _write_some(_WRITER[0], orgs, directory)
