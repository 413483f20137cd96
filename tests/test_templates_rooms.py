"""templates/ is split into rooms by what they serve (school, answers, coordinators, xlsx); a room
uses another only through that room's ``__init__`` and never through a private name, so a room's
inside can change without the others noticing."""

from __future__ import annotations

import ast
from pathlib import Path

import templates

ROOT = Path(templates.__file__).parent
ROOMS = ("school", "answers", "coordinators", "xlsx")


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.lineno, node.module, [alias.name for alias in node.names])
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("templates")]


def test_the_package_is_the_four_rooms() -> None:
    modules = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("*.py"))
    rooms = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file())
    assert modules == ["__init__.py"]
    assert rooms == sorted(ROOMS)


def test_a_room_uses_another_only_through_its_public_front() -> None:
    breaches = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        home = parts[0] if len(parts) > 1 else None
        for line, module, names in _imports(path):
            room = module.split(".")[1] if "." in module else None
            if room == home:
                continue
            deep = module.count(".") > 1
            private = [n for n in names if n.startswith("_")]
            if deep or private:
                breaches.append(f"{path.relative_to(ROOT)}:{line} from {module} import {', '.join(names)}")
    assert breaches == []


def test_what_the_rest_of_sbor_imports_is_still_there() -> None:
    assert sorted(templates.__all__) == [
        "FINDINGS_SHEET", "FeedbackFactory", "RECEIPT_SHEET", "REFUSAL_SHEET", "TemplateFactory",
        "render_feedback", "render_receipt", "render_refusal", "render_template",
    ]
    # The public factory lives in a public module of its room, not a private one.
    assert not any(part.startswith("_") for part in templates.FeedbackFactory.__module__.split("."))
    for room in ROOMS:
        package = __import__(f"templates.{room}", fromlist=["__all__"])
        assert all(hasattr(package, name) for name in package.__all__), room
