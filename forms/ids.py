"""The one pattern every id that becomes a path must match: collections, forms, coordinators
and logins each name a folder or a file (``outbox/templates/<collection>/<login>.xlsx``,
``outbox/reports/<coordinator>/``), so an id is a plain name: no separator, no dot, nothing
that a file system treats specially, lower case only (a case-insensitive share would make
``Reg77`` and ``reg77`` one folder, and one coordinator would read another's workbooks), and
short enough to leave room for a suffix in a 255-byte file name.

Example: ``spo-specialities-2026``, ``spo_specialities``, ``mun7701``, ``edu770001``.
"""

from __future__ import annotations

import re

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
ID_RULE = "lower-case latin letters, digits, '-' and '_', starting with a letter or digit, at most 64"


def id_problem(what: str, value: object) -> str | None:
    """Why ``value`` cannot be the id of ``what`` ("collection id", "login"), or None."""
    if isinstance(value, str) and ID_PATTERN.fullmatch(value):
        return None
    return f"{what} {value!r} is not a plain id ({ID_RULE}): it names a folder or a file"
