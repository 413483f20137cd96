"""Who sent a workbook, for what: the signed identity sheet, never the file name.

The very hidden «_sbor» sheet holds the collection, login, form, version and layout fingerprint,
signed with HMAC-SHA256 under the server's secret. A file without it is not our template; a file
whose signature does not match was edited or forged; a valid identity is then checked against the
world: the collection, the current form version, the participants, the window and the sender.
"""

from __future__ import annotations

import io
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook

from forms import layout
from forms.findings import Finding, finding
from forms.identity import Identity
from validators import messages as msg
from validators.context import Context
from validators.safety import load

CalamineFailure = (CalamineError, ValueError, OSError)


def identify(path: Path, *, context: Context, sender: str | None = None) -> tuple[Identity | None, list[Finding]]:
    """The file's verified identity and the findings about it. Runs the pre-check first: no
    reader touches a file that fails it. ``sender`` is the login the delivery channel knows (the
    inbox folder), if any."""
    data, inspection = load(path, limits=context.limits)
    if data is None or not inspection.passed:
        return None, list(inspection.findings)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except CalamineFailure:
        return None, [unreadable(path.name)]
    with workbook:
        return identify_workbook(workbook, path.name, context, sender)


def unreadable(file: str) -> Finding:
    return finding("unreadable", file=file)


def read_identity(workbook: CalamineWorkbook) -> tuple[Identity, str] | None:
    """The identity as written in the sheet and its signature; None when the sheet is missing or
    its rows are not the identity's rows."""
    if layout.IDENTITY_SHEET not in workbook.sheet_names:
        return None
    rows = workbook.get_sheet_by_name(layout.IDENTITY_SHEET).to_python(nrows=len(layout.IDENTITY_KEYS))
    values: dict[str, str] = {}
    for row in rows:
        if len(row) >= 2 and isinstance(row[0], str):
            values[row[0]] = _text(row[1])
    if any(key not in values for key in layout.IDENTITY_KEYS):
        return None
    try:
        version = int(values["version"])
    except ValueError:
        return None
    identity = Identity(values["collection"], values["login"], values["form"], version, values["fingerprint"])
    return identity, values["signature"]


def _text(value: object) -> str:
    # The template writes every identity value as text; a number here was retyped by hand.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def identify_workbook(workbook: CalamineWorkbook, file: str, context: Context,
                      sender: str | None) -> tuple[Identity | None, list[Finding]]:
    try:
        found = read_identity(workbook)
    except CalamineFailure:
        found = None
    if found is None:
        if layout.IDENTITY_SHEET in workbook.sheet_names:
            return None, [_finding(file, "forged-identity")]
        return None, [_finding(file, "no-identity")]
    identity, signature = found
    if not identity.verify(context.secret, signature):
        return None, [_finding(file, "forged-identity")]
    return identity, check_identity(identity, file, context, sender)


def check_identity(identity: Identity, file: str, context: Context, sender: str | None) -> list[Finding]:
    """Findings about a verified identity: is it a current template of an open collection, for a
    participant, sent by the organisation it was issued to."""
    collection = context.collections.get(identity.collection)
    if collection is None:
        return [_finding(file, "unknown-collection", collection=identity.collection)]
    form = context.forms.get(collection.form_id)
    if form is None or identity.form != form.id:
        return [_finding(file, "unknown-collection", collection=identity.collection)]
    findings: list[Finding] = []
    if identity.version != form.version:
        findings.append(_finding(file, "outdated-form", form=form.title, version=identity.version,
                                 current=form.version))
    elif identity.fingerprint != form.fingerprint:
        # The same version number, another layout: the template was issued anew (a fix of the
        # form's sheets), so «версия 1; действует версия 1» would tell the school nothing.
        findings.append(finding("outdated-form", file=file, wording="reissued-form", form=form.title,
                                title=collection.title))
    if sender is not None and sender != identity.login:
        findings.append(_finding(file, "wrong-sender", login=identity.login, sender=sender))
    if identity.login not in context.participants.get(collection.id, frozenset()):
        findings.append(_finding(file, "not-participant", login=identity.login, title=collection.title))
    if context.now < collection.opens:
        findings.append(_finding(file, "window-not-open", title=collection.title,
                                 opens=msg.moscow(collection.opens)))
    elif context.now >= collection.closes:
        findings.append(_finding(file, "window-closed", title=collection.title,
                                 closes=msg.moscow(collection.closes)))
    return findings


def _finding(file: str, code: str, **values: object) -> Finding:
    return finding(code, file=file, **values)
