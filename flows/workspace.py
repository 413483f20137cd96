"""The workspace's resources, opened the same way by every flow."""

from __future__ import annotations

from flows.settings import Settings
from forms import builtin_forms
from warehouse import AnalystRole, Warehouse, connect, role_password


def open_warehouse(settings: Settings) -> Warehouse:
    """The warehouse with every built-in form's tables created (idempotent), and the
    workspace's folders in place. On PostgreSQL it knows the analysts' role (``sbor sql``)."""
    settings.ensure_dirs()
    engine = connect(settings.database_url)
    analyst = None
    if engine.dialect.name == "postgresql":
        name = settings.analyst_role
        analyst = AnalystRole(name, role_password(settings.secret(), name), settings.sql_timeout)
    wh = Warehouse(engine, analyst=analyst)
    wh.create(builtin_forms().values())
    return wh
