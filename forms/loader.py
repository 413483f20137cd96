"""Reading form specs from YAML into the frozen model of ``forms/spec.py``.

Every mistake in a spec is reported as one ``SpecError`` naming the file and the line, so the
operator who wrote the YAML can go straight to it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from forms.errors import SborError
from forms.ids import id_problem
from forms.spec import (
    FIELD_REF,
    FIELD_TYPES,
    MESSAGE_REF,
    PLACEHOLDERS,
    WORDING_REF,
    Check,
    ChoiceList,
    Field,
    Form,
    Sheet,
)

SPECS_PACKAGE_DIR = Path(str(resources.files("forms"))) / "specs"
DATA_DIR = Path(str(resources.files("forms"))) / "data"

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_NUMBER = re.compile(r"^[0-9A-Za-zА-Яа-я]+(\.[0-9A-Za-zА-Яа-я]+)*$")
_LINE = "__line__"


class SpecError(SborError, ValueError):
    """A form spec that cannot be used: names the file and the line of the mistake."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        super().__init__(f"{path}, line {line}: {problem}")


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that remembers, for every mapping, the line it starts on."""


class _Mapping(dict[str, Any]):
    """A YAML mapping that also knows the line of each of its keys (``key_lines``), so a bad
    value is reported on its own line, not on the line its mapping starts."""

    key_lines: dict[str, int]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = _Mapping(loader.construct_mapping(node, deep=True))
    mapping.key_lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    mapping[_LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(str(path), line, "not UTF-8 text: save the file as UTF-8") from exc
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise SpecError(str(path), line, f"not valid YAML: {exc.problem}") from exc
    except yaml.reader.ReaderError as exc:  # a control character: no mark, a position
        line = text[: exc.position].count("\n") + 1
        raise SpecError(str(path), line,
                        f"not valid YAML: control character #x{exc.character:04x} is not allowed") from exc
    if not isinstance(data, dict):
        raise SpecError(str(path), 1, "expected a mapping at the top level")
    return data


class _Reader:
    """Pulls typed values out of one YAML mapping, failing with the mapping's file and line."""

    def __init__(self, path: str, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        self.line: int = data.get(_LINE, 1)

    def fail(self, problem: str) -> SpecError:
        return SpecError(self.path, self.line, problem)

    def fail_at(self, key: str, problem: str) -> SpecError:
        """A mistake in the value of ``key``, reported on that key's line."""
        lines = getattr(self.data, "key_lines", {})
        return SpecError(self.path, lines.get(key, self.line), problem)

    def plain_id(self, key: str, what: str) -> str:
        """The value of ``key``, which becomes a path: it must match ``forms.ids.ID_PATTERN``."""
        value = self.get(key, str, what=f"a {what}")
        problem = id_problem(f"{what} {key}" if key != "id" else f"{what} id", value)
        if problem is not None:
            raise self.fail_at(key, problem)
        return value

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., what: str = "") -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(f"{what or 'entry'} needs '{key}'")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # YAML reads yes/no/true as bool, and bool is an int: refuse it unless bool is asked for.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(f"'{key}' must be {names}, got {value!r}")
        return value

    def children(self, key: str) -> Iterator[_Reader]:
        items = self.get(key, list, default=[])
        for item in items:
            if not isinstance(item, dict):
                raise self.fail(f"every entry of '{key}' must be a mapping, got {item!r}")
            yield _Reader(self.path, item)

    def words(self, key: str, what: str, *, required: bool = False) -> Any:
        """A text a school reads; its placeholders must be ones forms/wording.py fills."""
        text = self.get(key, str, default=... if required else None, what=what)
        for name in WORDING_REF.findall(text or ""):
            if name not in PLACEHOLDERS:
                raise self.fail(f"{what}: unknown placeholder {{{name}}} in '{key}' "
                                f"(known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})")
        return text

    def unknown(self, allowed: set[str]) -> None:
        extra = sorted(set(self.data) - allowed - {_LINE})
        if extra:
            raise self.fail(f"unknown key '{extra[0]}' (allowed: {', '.join(sorted(allowed))})")


def _load_list(path: str, reader: _Reader, name: str, value: Any) -> ChoiceList:
    if isinstance(value, list):
        values = tuple(str(v) for v in value)
    elif isinstance(value, dict) and "file" in value:
        data_file = DATA_DIR / str(value["file"])
        if not data_file.is_file():
            raise SpecError(path, value.get(_LINE, reader.line), f"list '{name}': no data file {value['file']}")
        with data_file.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        # A data file is "code;name" or "code,name" rows after a header; the dropdown shows both.
        values = tuple(" ".join(cell.strip() for cell in row if cell.strip()) for row in rows[1:] if row)
    else:
        raise SpecError(path, reader.line, f"list '{name}' must be a list of values or {{file: …}}")
    if len(set(values)) != len(values):
        raise SpecError(path, reader.line, f"list '{name}' has a repeated value")
    if not values:
        raise SpecError(path, reader.line, f"list '{name}' is empty")
    return ChoiceList(name, values)


def _load_field(r: _Reader, lists: dict[str, ChoiceList]) -> Field:
    r.unknown({"number", "name", "title", "type", "required", "min", "max", "max_length", "list",
               "hint", "width", "key", "within_period", "prefill"})
    number = str(r.get("number", (str, int, float), what="a field"))
    if not _NUMBER.match(number):
        raise r.fail(f"field number {number!r} is not like 1, 3.1 or 2.a")
    name = r.get("name", str, what=f"field {number}")
    if not _NAME.match(name):
        raise r.fail(f"field {number}: name {name!r} must be lower-case ascii snake_case")
    ftype = r.get("type", str, what=f"field {number}")
    if ftype not in FIELD_TYPES:
        raise r.fail(f"field {number}: unknown type '{ftype}' (known: {', '.join(FIELD_TYPES)})")
    choices = r.get("list", str, default=None)
    if ftype == "choice":
        if choices is None:
            raise r.fail(f"field {number}: a choice field needs 'list'")
        if choices not in lists:
            raise r.fail(f"field {number}: unknown list '{choices}'")
    elif choices is not None:
        raise r.fail(f"field {number}: only a choice field takes 'list'")
    within = r.get("within_period", bool, default=False)
    if within and ftype != "date":
        raise r.fail(f"field {number}: only a date field can be within_period")
    return Field(
        number=number,
        name=name,
        title=r.words("title", f"field {number}", required=True),
        type=ftype,
        required=r.get("required", bool, default=False),
        minimum=r.get("min", (int, float), default=None),
        maximum=r.get("max", (int, float), default=None),
        max_length=r.get("max_length", int, default=None),
        choices=choices,
        hint=r.words("hint", f"field {number}"),
        width=r.get("width", (int, float), default=None),
        key=r.get("key", bool, default=False),
        within_period=within,
        prefill=r.get("prefill", str, default=None),
    )


def _load_check(r: _Reader, kind: str, numbers: set[str], sheet: str) -> Check:
    r.unknown({"id", "expr", "message", "severity", "target", "by", "when", "explain"})
    check = Check(
        id=r.get("id", str, what=f"a {kind} rule"),
        kind=kind,  # type: ignore[arg-type]
        expr=r.get("expr", str, what=f"a {kind} rule"),
        message=r.get("message", str, what=f"a {kind} rule"),
        severity=r.get("severity", str, default="error"),
        target=(str(r.data["target"]) if "target" in r.data else None),
        by=tuple(str(b) for b in r.get("by", list, default=[])),
        when=r.get("when", str, default=None),
        explain=r.get("explain", str, default=None),
    )
    if check.severity not in ("error", "warning"):
        raise r.fail(f"rule {check.id}: severity must be error or warning, got '{check.severity}'")
    if kind == "group" and not check.by:
        raise r.fail(f"group rule {check.id} needs 'by': the fields to group rows by")
    if not check.fields:
        raise r.fail(f"rule {check.id} names no field (quote field numbers: \"3.1\")")
    for ref in (*check.fields, *([check.target] if check.target else [])):
        if ref not in numbers:
            raise r.fail(f"rule {check.id} names field \"{ref}\", which sheet '{sheet}' does not have")
    for ref in MESSAGE_REF.findall(check.message):
        if ref not in numbers and not (kind == "group" and ref == "value"):
            raise r.fail(f"rule {check.id}: the message names {{{ref}}}, which sheet '{sheet}' does not have")
    return check


def _load_sheet(r: _Reader, lists: dict[str, ChoiceList]) -> Sheet:
    r.unknown({"name", "table", "kind", "hint", "min_rows", "max_rows", "fields", "row_rules",
               "group_rules", "prefill", "when_empty"})
    name = r.get("name", str, what="a sheet")
    if len(name) > 31 or any(c in name for c in "[]:*?/\\"):
        raise r.fail(f"sheet name {name!r}: at most 31 characters and none of []:*?/\\")
    kind = r.get("kind", str, default="table")
    if kind not in ("table", "card"):
        raise r.fail(f"sheet '{name}': kind must be table or card, got '{kind}'")
    table = r.get("table", str, what=f"sheet '{name}'")
    if not _NAME.match(table):
        raise r.fail(f"sheet '{name}': table {table!r} must be lower-case ascii snake_case")
    fields: list[Field] = []
    for fr in r.children("fields"):
        f = _load_field(fr, lists)
        if any(f.number == g.number for g in fields):
            raise fr.fail(f"sheet '{name}': duplicate field number {f.number}")
        if any(f.name == g.name for g in fields):
            raise fr.fail(f"sheet '{name}': duplicate field name {f.name}")
        fields.append(f)
    if not fields:
        raise r.fail(f"sheet '{name}' has no fields")
    numbers = {f.number for f in fields}
    checks = [_load_check(c, "row", numbers, name) for c in r.children("row_rules")]
    checks += [_load_check(c, "group", numbers, name) for c in r.children("group_rules")]
    ids = [c.id for c in checks]
    if len(set(ids)) != len(ids):
        raise r.fail(f"sheet '{name}': two rules share an id")
    prefill_field = prefill_from = None
    if "prefill" in r.data:
        pr = _Reader(r.path, r.get("prefill", dict))
        prefill_field = str(pr.get("field", (str, int, float), what="prefill"))
        prefill_from = pr.get("from", str, what="prefill")
        if prefill_field not in numbers:
            raise pr.fail(f"prefill names field \"{prefill_field}\", which sheet '{name}' does not have")
    max_rows = r.get("max_rows", int, default=1 if kind == "card" else 500)
    min_rows = r.get("min_rows", int, default=0)
    when_empty = r.words("when_empty", f"sheet '{name}'")
    if when_empty is not None and not (kind == "table" and min_rows > 0):
        raise r.fail(f"sheet '{name}': when_empty needs a table sheet with min_rows of 1 or more")
    return Sheet(
        name=name,
        table=table,
        kind=kind,  # type: ignore[arg-type]
        fields=tuple(fields),
        hint=r.words("hint", f"sheet '{name}'"),
        min_rows=min_rows,
        max_rows=max_rows,
        checks=tuple(checks),
        prefill_field=prefill_field,
        prefill_from=prefill_from,
        when_empty=when_empty,
    )


def load_form(path: Path | str) -> Form:
    """Read one form spec. Raises ``SpecError`` naming the file and line of the first mistake."""
    path = Path(path)
    r = _Reader(str(path), _yaml(path))
    r.unknown({"id", "version", "title", "description", "lists", "sheets"})
    form_id = r.plain_id("id", "form")
    if not _NAME.match(form_id):
        raise r.fail(f"form id {form_id!r} must be lower-case ascii snake_case")
    raw_lists = r.get("lists", dict, default={})
    lists = {
        name: _load_list(str(path), r, name, value)
        for name, value in raw_lists.items()
        if name != _LINE
    }
    sheets: list[Sheet] = []
    for sr in r.children("sheets"):
        sheet = _load_sheet(sr, lists)
        if any(sheet.name == s.name for s in sheets) or any(sheet.table == s.table for s in sheets):
            raise sr.fail(f"duplicate sheet '{sheet.name}'")
        sheets.append(sheet)
    if not sheets:
        raise r.fail("a form needs at least one sheet")
    return Form(
        id=form_id,
        version=r.get("version", int, what="a form"),
        title=r.words("title", "a form", required=True),
        description=r.words("description", "the form"),
        sheets=tuple(sheets),
        lists=tuple(lists.values()),
        needs_period=any(f.within_period for s in sheets for f in s.fields),
        source=str(path),
    )


def builtin_forms() -> dict[str, Form]:
    """The forms that ship with sbor, by id (a fresh dict; the forms themselves are frozen)."""
    return dict(_builtin_forms())


@cache
def _builtin_forms() -> tuple[tuple[str, Form], ...]:
    # Parsing the shipped YAML costs 70-100 ms, and one ingest pass asked for it twice (the
    # warehouse's tables, the pass's world): the files ship with the package and never change
    # while a process runs.
    return tuple((f.id, f) for f in (load_form(p) for p in sorted(SPECS_PACKAGE_DIR.glob("*.yaml"))))


def field_refs(expr: str) -> list[str]:
    return FIELD_REF.findall(expr)
