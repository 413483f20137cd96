"""Who sent a file, as the delivery channel knows it: checked before the file is opened.

A file is credited to its sender, never to the login its template names: the cabinet's signed-in
account, or the login of the ``inbox/<login>/`` folder it came through. A folder that is not a
registry login vouches for nobody, and a file put straight into ``inbox/`` has no sender unless
the workspace trusts its flat inbox (files a coordinator forwards). Such a file is refused unread:
its content cannot say who sent it, since any school may hold another school's template.
"""

from __future__ import annotations

from collections.abc import Sequence

from forms.findings import Finding, finding
from validators.verdict import Verdict, outcome_of


def sender_findings(file: str, folder: str | None, *, registered: bool, trust_flat: bool) -> list[Finding]:
    """Why the sender of ``file`` is not known: ``folder`` is the inbox folder's name (None for
    the flat inbox), ``registered`` whether that name is a login of the registry."""
    if folder is None:
        return [] if trust_flat else [finding("no-sender", file=file)]
    if registered:
        return []
    return [finding("unknown-sender", file=file, folder=folder)]


def refused_unread(file: str, sha256: str, findings: Sequence[Finding]) -> Verdict:
    """The verdict on a file refused before opening: no identity, nothing read."""
    found = tuple(findings)
    return Verdict(file=file, sha256=sha256, identity=None, outcome=outcome_of(None, found), findings=found)
