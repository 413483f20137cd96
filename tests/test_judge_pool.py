"""A large batch is read by worker processes: the verdicts are the same as read here, in the
same order, with the digests the caller passes."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from forms import MOSCOW, Collection, Form
from templates import TemplateFactory
from tests.workbooks import SECRET, fill, sample_org
from validators import Context, judge_batch
from validators.judge import PROCESS_FROM

SHEET = "Специальности"
ROW = {"1": "38.02.01 Экономика и бухгалтерский учет (по отраслям)", "1.1": "Математика", "1.2": "—",
       "2": 2, "3": 30, "3.1": 20, "3.2": 10, "4": 25, "5": 40, "6": "Нет"}


def test_worker_processes_give_the_same_verdicts(forms_by_id: dict[str, Form],
                                                 collections_by_form: dict[str, Collection],
                                                 tmp_path: Path) -> None:
    form, collection = forms_by_id["spo_specialities"], collections_by_form["spo_specialities"]
    orgs = [sample_org(number=n, specialities=("38.02.01",)) for n in range(3)]
    factory = TemplateFactory(form, collection, SECRET)
    made = [fill(factory.render(orgs[0]), {SHEET: [ROW]}),
            fill(factory.render(orgs[1]), {SHEET: [{**ROW, "3": 31, "6": "может быть"}]}),
            fill(factory.render(orgs[2]), {SHEET: [ROW, ROW]}),
            b"not a workbook"]
    paths = []
    for i in range(PROCESS_FROM + 8):
        path = tmp_path / f"{i:03d}.xlsx"
        path.write_bytes(made[i % len(made)])
        paths.append(path)
    context = Context.build([collection], [form], {collection.id: [o.login for o in orgs]}, SECRET,
                            datetime(2026, 11, 20, 12, tzinfo=MOSCOW))
    names = [f"файл {p.stem}.xlsx" for p in paths]
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]

    here = judge_batch(paths, context, names=names, workers=1)
    pooled = judge_batch(paths, context, names=names, workers=2, sha256s=digests)

    assert [v.outcome for v in here] == [v.outcome for v in pooled]
    assert [v.outcome for v in pooled[:4]] == ["accepted", "rejected", "rejected", "unreadable"]
    for a, b in zip(here, pooled, strict=True):
        assert (a.file, a.sha256, a.identity, a.findings) == (b.file, b.sha256, b.identity, b.findings)
        assert a.frames.keys() == b.frames.keys() and all(a.frames[k].equals(b.frames[k]) for k in a.frames)
        assert {k: dict(v) for k, v in a.cells.items()} == {k: dict(v) for k, v in b.cells.items()}
    assert [v.sha256 for v in pooled] == digests
    assert pooled[1].findings[0].file == "файл 001.xlsx"
