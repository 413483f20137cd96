"""The workspace's resources, opened the same way by every flow."""

from __future__ import annotations

from flows.settings import Settings
from forms import builtin_forms
from warehouse import Warehouse, connect


def open_warehouse(settings: Settings) -> Warehouse:
    """The warehouse with every built-in form's tables created (idempotent), and the
    workspace's folders in place."""
    settings.ensure_dirs()
    wh = Warehouse(connect(settings.database_url))
    wh.create(builtin_forms().values())
    return wh
