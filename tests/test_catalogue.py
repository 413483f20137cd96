"""The catalogue of findings is the one list of codes: every code the source builds a finding
with is in it, and every entry (and each of its wordings) is asserted by some test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from forms.catalogue import CATALOGUE, entry
from forms.findings import finding

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("forms", "templates", "validators", "warehouse", "flows", "web")
# Findings built for a purpose other than telling a school something: the feedback writer's
# probe of a template's cell styles, never shown and never stored.
NOT_SHOWN = {"probe"}
COMPUTED = {"forms/findings.py", "warehouse/loading.py", "validators/casting.py",
            "validators/schema.py", "validators/identity.py", "validators/reading.py", "validators/safety.py"}


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)  # f"rule:{check.id}" → "rule:"
    return None


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _built() -> list[tuple[str, str, str | None, str | None]]:
    """(where, builder, code, wording) for every ``Finding(…)``, ``finding(…)`` and
    ``_Refused(…)`` in the source; the code None where it is not a literal."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name not in ("Finding", "finding", "_Refused"):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                code_node = _argument(node, 0, "code")
                if name == "_Refused":
                    wording = _literal(node.args[1]) if len(node.args) > 1 else None
                elif name == "finding":
                    wording = _literal(_argument(node, 99, "wording")) or ""
                else:
                    wording = None
                found.append((where, name, _literal(code_node), wording, code_node))
    return found


BUILT = _built()


def test_the_walk_finds_the_builders() -> None:
    """The walk sees the pre-check, the validators and the inbox build findings."""
    names = {(where.split("/")[0], name) for where, name, *_ in BUILT}
    assert {("validators", "_Refused"), ("validators", "finding"), ("flows", "finding")} <= names


def test_every_code_built_is_in_the_catalogue() -> None:
    missing = []
    for where, name, code, _wording, _node in BUILT:
        if code is None:
            # a code chosen at run time: the builder itself, the readers of the warehouse's
            # stored findings, and validators passing on a code from their own tables (checked
            # against the catalogue below)
            assert where.split(":")[0] in COMPUTED, f"{where}: {name} with a computed code"
            continue
        if code in NOT_SHOWN:
            continue
        if code not in CATALOGUE and not code.startswith("rule:"):
            missing.append(f"{where}: {code}")
    assert missing == []


def test_every_refusal_names_a_wording_of_its_code() -> None:
    wrong = []
    for where, name, code, wording, _ in BUILT:
        if name != "_Refused" or code is None or wording is None:
            continue
        key = "" if wording == code else wording
        if key not in entry(code).wordings:
            wrong.append(f"{where}: {code}/{wording}")
    assert wrong == []


def test_computed_codes_come_from_the_catalogue() -> None:
    """The casting and schema codes are chosen from tables; each is a catalogue entry."""
    from validators.casting import ERRORS
    from validators.schema import BOUNDS, DUPLICATE, REQUIRED

    assert {*ERRORS, *BOUNDS, DUPLICATE, REQUIRED, "not-in-list", "too-long", "invalid"} <= set(CATALOGUE)


def _asserted(tree: ast.Module) -> set[str]:
    """The strings a test module asserts: inside an ``assert``, in a ``parametrize`` decorator
    (its cases are asserted by the test), or in a module constant that an ``assert`` names."""
    def strings(node: ast.AST) -> set[str]:
        return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}

    checked: list[ast.AST] = [n for n in ast.walk(tree) if isinstance(n, ast.Assert)]
    checked += [d for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) for d in n.decorator_list]
    named = {n.id for c in checked for n in ast.walk(c) if isinstance(n, ast.Name)}
    found = set().union(*(strings(c) for c in checked))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AnnAssign, ast.AugAssign)) else []
        if targets and node.value is not None and any(isinstance(t, ast.Name) and t.id in named for t in targets):
            found |= strings(node.value)
    return found


ASSERTED = set().union(*(_asserted(ast.parse(p.read_text(encoding="utf-8")))
                         for p in sorted((ROOT / "tests").glob("test_*.py")) if p.name != "test_catalogue.py"))


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_entry_is_asserted_by_a_test(code: str) -> None:
    """Each code is named in some test's assertion, so losing the situation that raises it
    fails a test (``rule:`` by any rule's code)."""
    covered = code in ASSERTED or any(s.startswith(code) for s in ASSERTED if code.endswith(":"))
    assert covered, f"no test asserts {code}"


def test_a_finding_keeps_its_code_and_parameters() -> None:
    """The text is rendered from the parameters; a page can word them otherwise."""
    f = finding("too-many-findings", file="отчёт.xlsx", shown=300, total=1810)
    assert (f.code, f.severity, f.wording, dict(f.params)) == ("too-many-findings", "note", "",
                                                                {"shown": 300, "total": 1810})
    assert f.message.startswith("Файл «отчёт.xlsx»: замечаний слишком много (1810); показаны первые 300, ")
