"""The warehouse: fixed tables and one typed table per form sheet (built from the spec),
loading in one transaction per submission, history, views of current data, and the queries
behind coordinators' status reports. SQLite (embedded default) or PostgreSQL, by URL."""

from warehouse.analysts import AnalystRole, drop_role, role_password
from warehouse.engine import connect, safe_url, sqlite_url
from warehouse.errors import DatabaseUnavailable, LoadError, ReadOnlyViolation, WarehouseError
from warehouse.rows import (
    ACCEPTED,
    CollectionRow,
    NewSubmission,
    Outcome,
    SubmissionRow,
)
from warehouse.store import Warehouse
from warehouse.tables import (
    FixedTables,
    build_tables,
    define_fixed_tables,
    frame_schema,
    table_name,
    view_name,
)

__all__ = [
    "ACCEPTED", "AnalystRole", "drop_role", "role_password", "CollectionRow", "DatabaseUnavailable", "FixedTables",
    "LoadError", "NewSubmission", "Outcome", "ReadOnlyViolation", "SubmissionRow",
    "Warehouse", "WarehouseError", "build_tables", "connect", "define_fixed_tables",
    "frame_schema", "safe_url", "sqlite_url", "table_name", "view_name",
]
