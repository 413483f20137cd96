"""``sbor demo``: the whole cycle on the embedded default (SQLite, Prefect's local mode).

A synthetic registry, the three seed collections published, and (as the pipeline grows)
simulated schools returning their workbooks, ingest, and the coordinators' workbooks.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from flows.settings import Settings
from flows.simulate import fill, good_values, spoil
from forms import Collection, Form, Organisation, load_collection
from forms.loader import DATA_DIR
from forms.registry import generate_registry, write_registry

COLLECTIONS_DIR = DATA_DIR.parent / "collections"


def seed_collections(settings: Settings) -> list[Collection]:
    """The shipped collections, with each window moved to be open now if it is not, so the demo
    behaves the same whenever it runs."""
    now = settings.now()
    out: list[Collection] = []
    for path in sorted(COLLECTIONS_DIR.glob("*.yaml")):
        c = load_collection(path)
        if not c.is_open(now):
            c = replace(c, opens=now - timedelta(days=7), closes=now + timedelta(days=30))
        out.append(c)
    return out


def demo_registry(settings: Settings, size: int) -> Path:
    path = settings.runtime / "demo-registry.csv"
    settings.runtime.mkdir(parents=True, exist_ok=True)
    write_registry(generate_registry(size, seed=2026), path)
    return path


@dataclass(frozen=True)
class Returns:
    """What the simulated schools put into the inbox in one round."""

    good: int = 0
    with_errors: int = 0
    corrected: int = 0
    duplicates: int = 0
    hostile: int = 0

    @property
    def total(self) -> int:
        return self.good + self.with_errors + self.corrected + self.duplicates + self.hostile


def _drop(settings: Settings, login: str, name: str, data: bytes) -> Path:
    folder = settings.inbox / login
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def first_round(settings: Settings, collection: Collection, form: Form, orgs: list[Organisation],
                rng: random.Random) -> tuple[Returns, list[tuple[Organisation, bytes]]]:
    """Most schools return a correct file, about one in six makes mistakes, some have not started.
    Returns the counts and, for the schools with mistakes, their template to correct later."""
    good = bad = 0
    to_correct: list[tuple[Organisation, bytes]] = []
    template_dir = settings.templates_dir / collection.id
    for org in orgs:
        roll = rng.random()
        if roll < 0.12:  # has not started yet
            continue
        template = (template_dir / f"{org.login}.xlsx").read_bytes()
        values = good_values(form, collection, org, rng)
        if roll < 0.28:
            _drop(settings, org.login, f"{collection.id}.xlsx", fill(template, form, spoil(form, values, rng)))
            to_correct.append((org, template))
            bad += 1
        else:
            _drop(settings, org.login, f"{collection.id}.xlsx", fill(template, form, values))
            good += 1
    return Returns(good=good, with_errors=bad), to_correct


def second_round(settings: Settings, collection: Collection, form: Form,
                 to_correct: list[tuple[Organisation, bytes]], rng: random.Random) -> Returns:
    """Most schools with mistakes send a corrected file; one school sends its accepted file again."""
    corrected = 0
    for org, template in to_correct:
        if rng.random() < 0.75:
            values = good_values(form, collection, org, rng)
            _drop(settings, org.login, f"{collection.id}-исправленный.xlsx", fill(template, form, values))
            corrected += 1
    return Returns(corrected=corrected)


def resend_and_hostile(settings: Settings, archive_of: Path | None, login: str) -> Returns:
    """The same accepted file once more, a CSV saved as .xlsx and a truncated workbook: each must
    be answered, none loaded."""
    duplicates = hostile = 0
    if archive_of is not None:
        _drop(settings, login, "повторно.xlsx", archive_of.read_bytes())
        duplicates += 1
        cut = _drop(settings, login, "обрезанный.xlsx", archive_of.read_bytes()[:2000])
        # An upload that stopped long ago: the ingest no longer waits for the rest of it.
        then = cut.stat().st_mtime - 2 * settings.give_up_seconds
        os.utime(cut, (then, then))
        hostile += 1
    _drop(settings, login, "таблица.xlsx", "Логин;Наименование\nspo770001;Колледж\n".encode("cp1251"))
    hostile += 1
    return Returns(duplicates=duplicates, hostile=hostile)
