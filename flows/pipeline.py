"""The ingest pipeline: every file in the inbox processed exactly once, without Prefect.

One pass: recover claims of dead processes, claim what is waiting, then per batch: archive every
file by SHA-256, judge the batch (validators), record each file in one transaction (warehouse),
answer each school (templates), and only then drop the claim. A crash at any point leaves each
file either fully processed or still claimed, and the next run finishes it.

A large pass spreads its batches over worker processes (``flows.lanes``). This module does not
import Prefect, so that such a worker starts in about a second; ``flows.ingest`` runs the passes,
plain or as Prefect's flow and tasks.
"""

from __future__ import annotations

import errno
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flows.inbox import (
    Claim,
    archive_many,
    claim,
    claim_folder,
    done,
    is_regular,
    leftovers,
    listed,
    names_match,
    recover,
    scan,
    sha256_of,
)
from flows.lease import log_takeovers, tidy
from flows.names import derived
from flows.paths import inside
from flows.senders import Judged, judge_claims
from flows.settings import Settings
from flows.settle import settled
from forms import MOSCOW, Collection, Finding, Form, Organisation, Participants, builtin_forms
from forms.findings import finding
from templates import FeedbackFactory, render_receipt, render_refusal
from validators import Context, Verdict
from warehouse import LoadError, NewSubmission, SubmissionRow, Warehouse

Progress = Callable[[int], None]
# Seconds spent per stage of ingest ("claim", "archive", "judge", "record", "answer", "release"),
# summed over batches; filled only when a caller (the benchmark) passes one.
Timings = dict[str, float]


@contextmanager
def stage(timings: Timings | None, name: str) -> Iterator[None]:
    if timings is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one received file: the line of `sbor ingest --json`."""

    file: str
    sha256: str
    outcome: str  # accepted | accepted_with_warnings | rejected | unreadable | duplicate
    collection: str | None = None
    login: str | None = None
    submission_id: int | None = None
    feedback: str | None = None
    findings: tuple[Finding, ...] = field(default=())

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "collection": self.collection,
            "login": self.login,
            "outcome": self.outcome,
            "submission_id": self.submission_id,
            "feedback": self.feedback,
            "findings": [
                {"severity": f.severity, "code": f.code, "worksheet": f.worksheet, "cell": f.cell,
                 "field": f.field, "value": f.value, "message": f.message,
                 # the text's code and parameters, for a script that words it itself
                 "wording": f.wording, "params": dict(f.params)}
                for f in self.findings
            ],
        }


@dataclass(frozen=True)
class World:
    """What one ingest pass knows: the published collections, forms, participants, schools."""

    context: Context
    forms: dict[str, Form]
    collections: dict[str, Collection]
    orgs: dict[str, Organisation]
    # Per collection, built on the first rejected file: answering one costs 3 ms instead of 60.
    _feedback: dict[str, FeedbackFactory] = field(default_factory=dict, compare=False, repr=False)

    def feedback(self, collection: Collection, form: Form) -> FeedbackFactory:
        """The annotated-workbook factory of ``collection``, built once per pass."""
        factory = self._feedback.get(collection.id)
        if factory is None:
            factory = self._feedback[collection.id] = FeedbackFactory(form, collection, self.context.secret)
        return factory


def load_world(wh: Warehouse, settings: Settings) -> World:
    forms = builtin_forms()
    rows = wh.collections()
    participants = {r.id: wh.participants(r.id) for r in rows}
    collections = {r.id: r.collection(Participants(logins=tuple(sorted(participants[r.id])))) for r in rows}
    logins = set().union(*participants.values()) if participants else set()
    orgs = {o.login: o for o in wh.organisations(sorted(logins))}
    context = Context.build(collections.values(), forms.values(), participants, settings.secret(), settings.now())
    return World(context, forms, collections, orgs)


def _write(path: Path, data: bytes, scratch: Path) -> Path:
    """Whole or not at all: a school never opens half a feedback workbook. The temporary file
    lies in the runtime folder (same file system, so the rename is atomic), so a process killed
    mid-write leaves nothing in a school's folder. The folders are made only when missing: a
    mkdir per answer cost more than the write."""
    # A random name opened exclusively: tempfile.mkstemp's own name search cost 0.2 ms here.
    tmp = scratch / f"answer-{uuid.uuid4().hex}.xlsx"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileNotFoundError:
        scratch.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    try:
        os.replace(tmp, path)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, path)
    return path


def feedback_path(settings: Settings, verdict: Verdict, claimed: Claim, row: SubmissionRow) -> Path:
    return _answer_path(settings, claimed, row)


def _answer_path(settings: Settings, claimed: Claim, row: SubmissionRow) -> Path:
    """Where the answer to ``row`` goes: the row's collection and login are the file's verified
    identity; a file without one is answered by the folder it came through. The name is bounded
    in bytes (``flows.names``): a long Chinese or emoji name once stopped every pass."""
    kind = "квитанция" if row.accepted else "ошибки"
    if row.collection_id is None or row.login is None:
        folder = settings.feedback_dir / "_unidentified" / (claimed.sender or "unknown")
    else:
        folder = settings.feedback_dir / row.collection_id / row.login
    return folder / derived(f"{row.id:06d}-", Path(claimed.name).stem[:80] or "file", f"-{kind}.xlsx")


# A name the file system refuses for what it holds, not for its length: a share (SMB, FAT) that
# refuses ``:`` or ``?``, or bytes it cannot encode. The answer then goes under a plain name.
_NAME_REFUSED = {errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL}


def _write_answer(target: Path, data: bytes, scratch: Path, plain: str) -> Path:
    try:
        return _write(target, data, scratch)
    except OSError as error:
        if error.errno not in _NAME_REFUSED:
            raise
        return _write(target.with_name(plain), data, scratch)


def answer(settings: Settings, world: World, verdict: Verdict, claimed: Claim, row: SubmissionRow) -> Path:
    """The school's answer: a receipt for an accepted file, its own workbook with every error
    marked for a refused one, a refusal sheet for a file that could not be identified."""
    target = inside(settings.feedback_dir, _answer_path(settings, claimed, row))
    ident = verdict.identity
    collection = world.collections.get(ident.collection) if ident else None
    # Only the school a template was issued to gets it back refilled: a school that sent another
    # school's template gets the refusal sheet, never a signed template of that school.
    org = world.orgs.get(ident.login) if ident and ident.login == row.login else None
    form = world.forms.get(ident.form) if ident else None
    if row.accepted and collection and org:
        rows_loaded = ({s.name: verdict.frames[s.table].height for s in form.sheets if s.table in verdict.frames}
                       if form else {})
        data = render_receipt(collection, org, submission_id=row.id, file_name=claimed.name,
                              sha256=row.sha256, received_at=row.received_at,
                              rows_loaded=rows_loaded, findings=verdict.findings)
    elif collection and org and form and form.version == ident.version:  # type: ignore[union-attr]
        data = world.feedback(collection, form).render(org, verdict.cells, verdict.findings, claimed.name)
    else:
        data = render_refusal(file_name=claimed.name, sha256=row.sha256, received_at=row.received_at,
                              findings=verdict.findings)
    kind = target.name.rpartition("-")[2]
    return _write_answer(target, data, settings.runtime / "tmp", f"{row.id:06d}-{kind}")


def _submission(judged: Judged, claimed: Claim, received_at: datetime, archive_rel: str) -> NewSubmission:
    verdict = judged.verdict
    ident = verdict.identity
    return NewSubmission(
        sha256=verdict.sha256, file_name=claimed.name, received_at=received_at,
        outcome=verdict.outcome,
        collection_id=ident.collection if ident else None, login=judged.login,
        form_id=ident.form if ident else None, form_version=ident.version if ident else None,
        archive_path=archive_rel, saved_by=verdict.saved_by,
    )


# Submissions recorded per call of record_many (the warehouse commits in groups of 50 as well),
# each group answered and released before the next is recorded, so that a crash or a lost
# database leaves few files recorded but unanswered; the next run answers them.
RECORD_GROUP = 50


def process_batch(settings: Settings, wh: Warehouse, world: World, claims: Sequence[Claim],
                  timings: Timings | None = None) -> list[FileOutcome]:
    """Archive, judge, record and answer one batch of claimed files. ``timings``, if given,
    gathers the seconds spent per stage.

    Every file is archived (and synced) before its outcome is committed, committed before it
    is answered, and answered before its claim is dropped (``finish_unanswered`` answers a
    recovered claim its dead run recorded). A submission the warehouse refuses (``LoadError``)
    keeps its claim; the others are finished, then the first refusal is raised."""
    received_at = settings.now()
    outcomes: list[FileOutcome] = []
    with stage(timings, "archive"):
        regular: list[tuple[Claim, str]] = []
        for c in claims:
            if not os.path.lexists(c.path):  # finished by an earlier try of this batch
                continue
            if not is_regular(c.path):  # a symlink or device: never followed, never opened
                outcomes.append(_refuse_special(settings, wh, c, received_at))
                continue
            regular.append((c, sha256_of(c.path)))
        kept = archive_many([(c.path, sha) for c, sha in regular], settings.archive)
    fresh: list[tuple[Claim, str, str]] = []
    repeated: list[tuple[Claim, str]] = []  # the same content twice within this batch
    unanswered: list[tuple[Claim, str, SubmissionRow]] = []  # recorded, then the process died
    in_batch: set[str] = set()
    for (c, sha), (archived, seen) in zip(regular, kept, strict=True):
        # Every file is archived before it is recorded: content new to the archive is new to
        # the warehouse too, and needs no look-up.
        with stage(timings, "known"):
            earlier = wh.find_sha(sha) if seen else None
        if earlier is not None and c.recovered and names_match(c, earlier.file_name):
            unanswered.append((c, sha, earlier))
            continue
        if earlier is not None:
            outcomes.append(_duplicate(settings, c, sha, earlier, received_at))
            with stage(timings, "release"):
                done(c)
            continue
        if sha in in_batch:
            repeated.append((c, sha))
            continue
        in_batch.add(sha)
        fresh.append((c, sha, str(archived.relative_to(settings.runtime))))
    with stage(timings, "judge"):
        verdicts = (judge_claims(settings, wh, world.context, world.orgs, [(c, sha) for c, sha, _ in fresh])
                    if fresh else [])
    refused: list[LoadError] = []
    judged = list(zip(fresh, verdicts, strict=True))
    for start in range(0, len(judged), RECORD_GROUP):
        group = judged[start:start + RECORD_GROUP]
        with stage(timings, "record"):
            rows = wh.record_many(
                [(_submission(one, c, received_at, kept_at), one.verdict.findings,
                  one.verdict.frames if one.verdict.accepted else None)
                 for (c, _, kept_at), one in group],
                commit_every=RECORD_GROUP)
        for ((c, sha, _), one), row in zip(group, rows, strict=True):
            verdict = one.verdict
            if isinstance(row, LoadError):
                refused.append(row)
                continue
            if row.file_name != c.name:
                # Another lane or process recorded a copy of this content under its own name
                # while this one was being judged: that copy is the submission, this a duplicate.
                outcomes.append(_duplicate(settings, c, sha, row, received_at))
                with stage(timings, "release"):
                    done(c)
                continue
            with stage(timings, "answer"):
                path = answer(settings, world, verdict, c, row)
            with stage(timings, "release"):
                done(c)
            outcomes.append(FileOutcome(c.name, sha, row.outcome, row.collection_id, row.login, row.id,
                                        str(path), verdict.findings))
    for c, sha in repeated:  # answered once their first copy is recorded
        first = wh.find_sha(sha)
        if first is None:  # the first copy was refused: this one waits with it
            continue
        outcomes.append(_duplicate(settings, c, sha, first, received_at))
        with stage(timings, "release"):
            done(c)
    outcomes += finish_unanswered(settings, wh, world, unanswered)
    if refused:
        raise refused[0]
    return outcomes


def finish_unanswered(settings: Settings, wh: Warehouse, world: World,
                      unanswered: Sequence[tuple[Claim, str, SubmissionRow]]) -> list[FileOutcome]:
    """Files a dead process recorded but did not get to answer: judged again (the answer needs
    the school's values) and answered with the outcome already recorded, unless the answer is
    already there. Their one outcome stays the recorded one; nothing is recorded twice."""
    if not unanswered:
        return []
    judged = judge_claims(settings, wh, world.context, world.orgs, [(c, sha) for c, sha, _ in unanswered])
    verdicts = [one.verdict for one in judged]
    out: list[FileOutcome] = []
    for (c, sha, row), verdict in zip(unanswered, verdicts, strict=True):
        path = feedback_path(settings, verdict, c, row)
        if not _answered(path):
            path = answer(settings, world, verdict, c, row)
        done(c)
        out.append(FileOutcome(c.name, sha, row.outcome, row.collection_id, row.login, row.id,
                               str(path), verdict.findings))
    return out


def _answered(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name this file system refuses: the answer went under a plain name
        return path.with_name(f"{path.name.partition('-')[0]}-{path.name.rpartition('-')[2]}").exists()


def _duplicate(settings: Settings, c: Claim, sha: str, earlier: SubmissionRow, received_at: datetime) -> FileOutcome:
    """A content already received: not loaded again, and its sender is told so in a workbook
    of its own. When another school sent the same bytes first, this sender learns only that the
    file came earlier from another organisation: nothing of the other school (name, number,
    data) is said."""
    moment = earlier.received_at if earlier.received_at.tzinfo else earlier.received_at.replace(tzinfo=UTC)
    when = moment.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M")  # stored in UTC; schools read Moscow time
    # An unidentified first copy has no login: who sent it is not known, so neither is said.
    own = earlier.login is not None and c.sender in (None, earlier.login)
    if own:
        note = finding("duplicate", file=c.name, when=when, earlier=earlier.id)
    else:
        note = finding("duplicate", file=c.name, wording="other" if earlier.login is not None else "unidentified",
                       when=when)
    login = earlier.login if own else c.sender
    if earlier.collection_id is None or login is None:
        folder = settings.feedback_dir / "_unidentified" / (c.sender or "unknown")
    else:
        folder = settings.feedback_dir / earlier.collection_id / login
    target = folder / derived(f"{earlier.id:06d}-", Path(c.name).stem[:80] or "file", "-повтор.xlsx")
    data = render_refusal(file_name=c.name, sha256=sha, received_at=received_at, findings=(note,))
    path = _write_answer(target, data, settings.runtime / "tmp", f"{earlier.id:06d}-повтор.xlsx")
    return FileOutcome(c.name, sha, "duplicate", earlier.collection_id, earlier.login if own else None,
                       earlier.id if own else None, str(path), (note,))


def _refuse_special(settings: Settings, wh: Warehouse, c: Claim, received_at: datetime) -> FileOutcome:
    import hashlib

    target = os.readlink(c.path) if c.path.is_symlink() else ""
    sha = hashlib.sha256(f"special:{c.name}:{target}".encode()).hexdigest()
    refused = finding("not-a-file", file=c.name)
    earlier = wh.find_sha(sha)
    row = earlier or wh.record(NewSubmission(sha256=sha, file_name=c.name, received_at=received_at,
                                             outcome="unreadable"), [refused], None)
    done(c)
    return FileOutcome(c.name, sha, "unreadable", None, None, row.id, None, (refused,))


def claim_all(settings: Settings, only: Sequence[Path] | None = None, *, whole: bool = False) -> list[Claim]:
    """Claim the inbox's files (``only`` these, if given) for this process. ``whole``: the files
    are whole by construction (the cabinet's uploads, linked into place once written and synced:
    ``flows.uploads.save_upload``), so they are taken without waiting for the quiet period."""
    mine = claim_folder(settings.processing)
    tidy(settings.runtime, settings.processing, mine, settings.lease_seconds)
    claims = leftovers(mine)  # before the recovered ones join them in this folder
    recovered, record = recover(settings.processing, mine, settings.lease_seconds)
    log_takeovers(settings.runtime, record)
    claims += recovered
    arrivals = list(scan(settings.inbox) if only is None else listed(settings.inbox, only))
    # Only whole files: a copy in progress is left for the next pass (``flows.settle``). The
    # uploads' wait for it was the most of their answer time (2 s of ~3 s in bench_upload).
    ready = arrivals if whole else settled(arrivals, settings.quiet_seconds, settings.give_up_seconds)[0]
    for arrival in ready:
        got = claim(arrival, mine)
        if got is not None:
            claims.append(got)
    return claims


def batches_of(claims: Sequence[Claim], size: int, lanes: int = 1) -> list[list[Claim]]:
    """The pass's batches, in order: at most ``size`` files each, and, when ``lanes`` share them,
    at least two per lane, so that no lane idles while another finishes a long last batch."""
    if lanes > 1:
        size = max(1, min(size, -(-len(claims) // (2 * lanes))))
    return [list(claims[i:i + size]) for i in range(0, len(claims), size)]
