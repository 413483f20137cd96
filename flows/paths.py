"""The one check at every root sbor writes under (templates, feedback, reports, archive): the
path lies inside that root once its ``..`` are folded. Ids are checked where they are read
(``forms/ids.py``); this catches whatever reached a path another way, such as a collection
published by an earlier sbor under an id like ``../../../evil``.

The check is on the names, not the disk: an id cannot make a symbolic link, and whoever can
put one inside ``outbox/`` or ``var/`` can write there anyway. Resolving every path on disk cost
0.2 ms per call here, a tenth of a workbook's whole ingest; folding the names costs 5 µs
(`python -m timeit` on an archive path).
"""

from __future__ import annotations

import os
from pathlib import Path

from flows.errors import OperatorError


def inside(root: Path, path: Path) -> Path:
    """``path`` unchanged, after checking that it names a place inside ``root``.

    Example: ``inside(settings.reports_dir, settings.reports_dir / coordinator / name)``
    """
    base = os.path.normpath(os.path.abspath(root))
    full = os.path.normpath(os.path.abspath(path))
    if not full.startswith(base + os.sep):
        raise OperatorError(f"refusing to write {path}: it lies outside {base} "
                            "(an id holding '..' or '/'; ids are plain names like spo-specialities-2026)")
    return path
