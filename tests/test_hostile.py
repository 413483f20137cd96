"""Hostile files through the real ingest: each gets a clear Russian finding that names the file,
is archived (a link is neither followed nor archived), and the pass goes on: the correct file of
another school placed right after it is accepted.

The whole corpus goes through ONE ingest pass (as it would arrive in a real inbox, mixed with good
files); each case is then checked on its own. Time and memory per bomb are measured in
bench/bench_hostile.py, not asserted here.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from flows.ingest import FileOutcome, ingest
from flows.workspace import open_warehouse
from tests.hostile import CASES, Case, Kit, build_corpus, make_kit, symlink_out
from tests.ole2 import decrypt_agile, read_stream

FILES = [c for c in CASES if c.build is not symlink_out]  # links: test_a_link_is_never_followed


@dataclass(frozen=True)
class Run:
    kit: Kit
    corpus: dict[str, tuple[Path, Path | None]]
    sha: dict[Path, str]  # every input file's SHA-256 (links: none)
    encrypted: bytes  # the password-protected file as it was sent
    by_sha: dict[str, FileOutcome]
    outcomes: list[FileOutcome]


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    kit = make_kit(tmp_path_factory.mktemp("hostile"))
    corpus = build_corpus(kit, kit.settings.inbox)
    sha = {p: _sha(p) for pair in corpus.values() for p in pair if p is not None and not p.is_symlink()}
    encrypted = corpus["encrypted"][0].read_bytes()
    outcomes = ingest(kit.settings)
    yield Run(kit, corpus, sha, encrypted, {o.sha256: o for o in outcomes}, outcomes)


def _shown(name: str) -> str:
    """The file name as messages show it: control characters replaced."""
    return "".join(c if c.isprintable() else "_" for c in name)


@pytest.mark.parametrize("case", FILES, ids=[c.id for c in FILES])
def test_refused_with_a_clear_finding(run: Run, case: Case) -> None:
    path, _ = run.corpus[case.id]
    outcome = run.by_sha[run.sha[path]]
    assert outcome.outcome == case.outcome, [f.message for f in outcome.findings]
    if not case.code:  # accepted: the odd name did no harm
        assert not [f for f in outcome.findings if f.severity == "error"]
        return
    found = [f for f in outcome.findings if f.code == case.code]
    assert found, [f.code for f in outcome.findings]
    finding = found[0]
    assert finding.severity == "error"
    if finding.cell is None:  # a refusal of the whole file names the file
        assert f"«{_shown(path.name)}»" in finding.message
    else:  # a cell finding names its place; the file is the school's own, marked
        assert finding.file == _shown(path.name)
        assert f"«{finding.worksheet}», ячейка {finding.cell}" in finding.message
    assert any("а" <= ch <= "я" for ch in finding.message.lower())
    assert not any(unicodedata.category(ch) == "Cc" for ch in finding.message)


@pytest.mark.parametrize("case", FILES, ids=[c.id for c in FILES])
def test_archived_recorded_and_answered(run: Run, case: Case) -> None:
    path, _ = run.corpus[case.id]
    sha = run.sha[path]
    kept = run.kit.settings.archive / sha[:2] / f"{sha}.bin"
    assert kept.is_file() and _sha(kept) == sha
    _, rows = open_warehouse(run.kit.settings).sql(
        f"SELECT outcome, archive_path FROM submissions WHERE sha256 = '{sha}'")
    assert [r[0] for r in rows] == [case.outcome]
    feedback = run.by_sha[sha].feedback
    assert feedback is not None and Path(feedback).is_file()
    # However the file was named, its answer stays inside outbox/feedback/.
    assert Path(feedback).resolve().is_relative_to(run.kit.settings.feedback_dir.resolve())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_next_file_is_accepted(run: Run, case: Case) -> None:
    _, good = run.corpus[case.id]
    assert good is not None
    assert run.by_sha[run.sha[good]].outcome == "accepted"


def test_a_link_is_never_followed(run: Run) -> None:
    path, _ = run.corpus["symlink"]
    [outcome] = [o for o in run.outcomes if o.file == path.name]
    assert outcome.outcome == "unreadable"
    assert [f.code for f in outcome.findings] == ["not-a-file"]
    assert f"«{path.name}»" in outcome.findings[0].message
    passwd = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()
    assert not list(run.kit.settings.archive.rglob(f"{passwd}.bin"))


def test_nothing_is_left_behind(run: Run) -> None:
    assert len(run.outcomes) == 2 * len(CASES)
    assert [p for p in run.kit.settings.inbox.rglob("*") if not p.is_dir()] == []
    assert [p for p in run.kit.settings.processing.rglob("*") if not p.is_dir()] == []


def test_answer_names_have_no_control_characters(run: Run) -> None:
    names = [Path(o.feedback).name for o in run.outcomes if o.feedback]
    assert not [n for n in names if any(unicodedata.category(ch) == "Cc" for ch in n)]


def test_the_encrypted_workbook_is_real(run: Run) -> None:
    """The corpus's password-protected file is the good workbook under AES: decrypting it with the
    password gives back a workbook that opens."""
    data = run.encrypted
    package = decrypt_agile(read_stream(data, "EncryptionInfo"), read_stream(data, "EncryptedPackage"), "пароль")
    assert "_sbor" in load_workbook(io.BytesIO(package)).sheetnames
    with pytest.raises(ValueError, match="wrong password"):
        decrypt_agile(read_stream(data, "EncryptionInfo"), read_stream(data, "EncryptedPackage"), "не тот")
