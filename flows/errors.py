"""Errors the command line reports to the operator as one line."""

from __future__ import annotations

from forms.errors import SborError


class OperatorError(SborError):
    """Something the operator can fix: a bad file, a missing registry, a wrong option. The CLI
    prints the message as one line and exits non-zero."""
