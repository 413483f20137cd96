"""The one base of every exception sbor raises on purpose.

It lives in ``forms``, the lowest package, so that every stage derives its own errors from it
and the command line catches this one class at its edge (one line, a non-zero exit, never a
traceback). Each error keeps its context as plain attributes (a path, a line, a URL; no
DataFrames) and its message says what to do next.
"""

from __future__ import annotations


class SborError(Exception):
    """Base of every error of ours. ``str(error)`` is the operator's message: its first line says
    what failed and what to do; further lines, if any, list the details (a registry's bad lines)."""
