"""The one check at every root sbor writes under (templates, feedback, reports, archive): the
path, once resolved (``..`` and symbolic links followed), lies inside that root. Ids are checked
where they are read (``forms/ids.py``); this catches whatever reached a path another way, such
as a collection published by an earlier sbor under an id like ``../../../evil``."""

from __future__ import annotations

from pathlib import Path

from flows.errors import OperatorError


def inside(root: Path, path: Path) -> Path:
    """``path`` unchanged, after checking that it resolves to a place inside ``root``.

    Example: ``inside(settings.reports_dir, settings.reports_dir / coordinator / name)``
    """
    base = root.resolve()
    full = (root / path).resolve()  # an absolute ``path`` replaces ``root`` here, and is checked so
    if not full.is_relative_to(base) or full == base:
        raise OperatorError(f"refusing to write {path}: it lies outside {base} "
                            "(an id holding '..' or '/'; ids are plain names like spo-specialities-2026)")
    return path
