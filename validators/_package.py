"""Which parts of a workbook's zip something names: ``[Content_Types].xml`` (an ``Override``), a
relationship of a named part, or a path that readers open by name (``xl/workbook.xml``,
``xl/sharedStrings.xml``, every ``xl/worksheets/*.xml``, ...).

Only those parts are ever parsed, by Excel or by the readers here (calamine finds sheets through
the workbook's relationships, openpyxl finds parts through Overrides and relationships; neither
looks a part up by a ``Default`` extension). Anything else in the zip (the ``__MACOSX/`` twins and
``.DS_Store`` files of a workbook packed again on a Mac, a stray note) is read by nobody, so the
pre-check does not judge what it holds; its size still counts against every cap.

Names are compared as OPC compares part names: without regard to case and with percent-escapes
decoded. When a relationship part cannot be parsed, what it names is unknown and every part counts
as named.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote
from xml.etree import ElementTree

from forms.errors import SborError

CONTENT_TYPES = "[Content_Types].xml"
# Opened by name by some reader (calamine: the workbook, its relationships, shared strings and
# styles; openpyxl: the package's relationships and the document properties, the theme).
_FIXED = ("[content_types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
          "xl/sharedstrings.xml", "xl/styles.xml", "xl/theme/theme1.xml", "docprops/core.xml",
          "docprops/app.xml", "docprops/custom.xml")
_SHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")
_RELS = re.compile(r"^(|.*/)_rels/([^/]*)\.rels$")


class _Unknown(SborError):
    """A named relationship or content-types part that cannot be parsed."""


def _key(name: str) -> str:
    return unquote(name.lstrip("/")).lower()


def _rels_of(name: str) -> str:
    """``a/b.xml`` → ``a/_rels/b.xml.rels``: where a part's relationships are."""
    folder, _, file = name.rpartition("/")
    return f"{folder}/_rels/{file}.rels" if folder else f"_rels/{file}.rels"


def _elements(xml: bytes, local: str) -> list[ElementTree.Element]:
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise _Unknown from exc
    return [e for e in root.iter() if e.tag == local or e.tag.endswith("}" + local)]


def _targets(rels_name: str, xml: bytes) -> list[str]:
    """The parts a relationship part points at inside the package, resolved against the folder of
    its source part (``xl/_rels/workbook.xml.rels`` → ``xl/``)."""
    match = _RELS.match(rels_name)
    base = match.group(1).rstrip("/") if match else ""
    out = []
    for rel in _elements(xml, "Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "").split("#", 1)[0]
        out.append(target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(base, target)))
    return out


def named_parts(names: Iterable[str], text: Callable[[str], bytes | None]) -> frozenset[str]:
    """The names in ``names`` (the zip's files) that something names. ``text(name)`` gives a part
    as UTF-8 XML already cleared of DTDs (None for a part not read as XML); it is asked only for
    ``[Content_Types].xml`` and for relationship parts that are named themselves."""
    every = [n for n in names if not n.endswith("/")]
    by_key: dict[str, list[str]] = {}
    for name in every:
        by_key.setdefault(_key(name), []).append(name)
    named: set[str] = set()
    queue: list[str] = []

    def name_it(key: str) -> None:
        if key in by_key and key not in named:
            named.add(key)
            queue.append(key)

    for key in _FIXED:
        name_it(key)
    for name in every:
        if _SHEET.match(name):
            name_it(_key(name))
    try:
        while queue:
            key = queue.pop()
            for name in by_key[key]:
                name_it(_key(_rels_of(name)))
                xml = text(name) if key == _key(CONTENT_TYPES) or _RELS.match(key) else None
                if xml is None:
                    continue
                if key == _key(CONTENT_TYPES):
                    for override in _elements(xml, "Override"):
                        name_it(_key(override.get("PartName", "")))
                else:
                    for target in _targets(name, xml):
                        name_it(_key(target))
    except _Unknown:
        return frozenset(every)
    return frozenset(n for n in every if _key(n) in named)


_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass(frozen=True)
class WorkbookParts:
    """What ``xl/workbook.xml`` and its relationships say: worksheet name → its part, every part
    they point at, whether one is an external link, each worksheet's state (visible, hidden,
    veryHidden) and whether the structure is locked."""

    sheets: dict[str, str]
    targets: set[str]
    linked: bool
    states: dict[str, str]
    locked: bool


def workbook_sheets(workbook: bytes, rels: bytes | None) -> WorkbookParts:
    """The workbook part's facts. Both XML parts were cleared of DTDs, so ElementTree parses them
    safely; a malformed one raises its ParseError."""
    root = ElementTree.fromstring(workbook)
    rel_root = ElementTree.fromstring(rels) if rels else None
    targets: dict[str, str] = {}
    linked = False
    for rel in rel_root.iter(f"{_PKG_REL_NS}Relationship") if rel_root is not None else ():
        linked = linked or rel.get("Type", "").endswith("/externalLink")
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        targets[rel.get("Id", "")] = target[1:] if target.startswith("/") else posixpath.normpath(f"xl/{target}")
    sheets: dict[str, str] = {}
    states: dict[str, str] = {}
    locked = False
    for sheet in root.iter():
        if sheet.tag.endswith("}sheet") or sheet.tag == "sheet":
            rid = sheet.get(f"{_REL_NS}id", "")
            states[sheet.get("name", "")] = sheet.get("state", "visible")
            if rid in targets:
                sheets[sheet.get("name", "")] = targets[rid]
        elif sheet.tag.endswith("}workbookProtection") or sheet.tag == "workbookProtection":
            locked = sheet.get("lockStructure", "0").lower() in ("1", "true")
    return WorkbookParts(sheets, set(targets.values()), linked, states, locked)
