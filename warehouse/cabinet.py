"""``Cabinet``: the cabinet's part of the warehouse (accounts, sessions, files, downloads) on the
same database as the pipeline's tables."""

from __future__ import annotations

from warehouse.accounts import Accounts
from warehouse.cabinet_tables import cabinet_tables
from warehouse.engine import create_missing
from warehouse.storage import Storage
from warehouse.store import Warehouse


class Cabinet:
    def __init__(self, warehouse: Warehouse, secret: bytes) -> None:
        self.warehouse = warehouse
        self.tables = cabinet_tables()
        self.accounts = Accounts(warehouse.engine, self.tables, secret, warehouse.fixed.organisations)
        self.storage = Storage(warehouse.engine, self.tables, warehouse.fixed)

    def create(self) -> None:
        """Create the cabinet's tables if they are missing (idempotent)."""
        create_missing(self.warehouse.engine, self.tables.metadata)
