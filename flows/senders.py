"""Who a claimed file is credited to, decided before it is judged.

A file is credited to its sender: the login of the ``inbox/<login>/`` folder it came through,
never the login its template names (that one only says which template it is, and the judge
refuses the file when the two differ). The flat inbox names no sender: its files are credited to
their template's login only when the workspace trusts it (``Settings.trust_flat_inbox``).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass

from flows.inbox import Claim
from flows.settings import Settings
from validators import Context, Verdict, judge_batch, refused_unread, sender_findings
from warehouse import Warehouse


@dataclass(frozen=True)
class Judged:
    """A claimed file's verdict and the login it is credited to: its sender, never the login its
    template names (None: nobody vouches for the file)."""

    verdict: Verdict
    login: str | None


def judge_claims(settings: Settings, wh: Warehouse, context: Context, participants: Container[str],
                 items: Sequence[tuple[Claim, str]]) -> list[Judged]:
    """Verdicts on claimed files, given as (claim, sha256), in order. A file whose sender is not
    known (a folder that is not a registry login; the flat inbox, unless the workspace trusts it)
    is refused unread; the others are judged together as sent by their folder's login.

    ``participants`` are logins known to be in the registry already (the pass's participants):
    only other folders are looked up, so the usual batch costs no query (500 logins looked up in
    a registry of 40,000 took 55-75 ms here, 0.15 ms a file)."""
    folders = sorted({c.sender for c, _ in items if c.sender is not None and c.sender not in participants})
    registered = {o.login for o in wh.organisations(folders)} if folders else set()
    refused: dict[int, Verdict] = {}
    for i, (c, sha) in enumerate(items):
        found = sender_findings(c.name, c.sender, registered=c.sender in participants or c.sender in registered,
                                trust_flat=settings.trust_flat_inbox)
        if found:
            refused[i] = refused_unread(c.name, sha, found)
    todo = [(c, sha) for i, (c, sha) in enumerate(items) if i not in refused]
    judged = iter(judge_batch([c.path for c, _ in todo], context, senders=[c.sender for c, _ in todo],
                              names=[c.name for c, _ in todo], sha256s=[sha for _, sha in todo]) if todo else [])
    out: list[Judged] = []
    for i, (c, _) in enumerate(items):
        if i in refused:
            out.append(Judged(refused[i], None))
            continue
        verdict = next(judged)
        ident = verdict.identity
        out.append(Judged(verdict, c.sender if c.sender is not None else ident.login if ident else None))
    return out
