"""The cabinet's tables: accounts, server-side sessions, sign-in failures, per-user publication
state, the file storage and every download.

They live in a MetaData of their own (``cabinet_metadata()``) so the pipeline's warehouse works
without them; ``Cabinet.create()`` adds them to the same database.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from warehouse.tables import UtcDateTime, ascii_code, serial_id

ROLES = ("school", "municipal", "regional", "operator")


@dataclass(frozen=True)
class CabinetTables:
    metadata: MetaData
    accounts: Table
    sessions: Table
    failures: Table
    prefs: Table
    files: Table
    downloads: Table


def cabinet_tables() -> CabinetTables:
    md = MetaData()
    roles = ", ".join(f"'{r}'" for r in ROLES)
    accounts = Table(
        "accounts", md,
        Column("login", ascii_code(32), primary_key=True),
        Column("role", String(16), nullable=False),
        Column("region_code", ascii_code(2), nullable=False, server_default=""),
        Column("municipality_code", ascii_code(16), nullable=False, server_default=""),
        Column("title", Text, nullable=False),
        Column("password_hash", Text),  # argon2id, set by the person
        Column("code_hash", ascii_code(64)),  # HMAC-SHA256 of the one-time code
        Column("blocked", Boolean, nullable=False, server_default="0"),
        Column("issued_at", UtcDateTime),
        CheckConstraint(f"role IN ({roles})", name="ck_accounts_role"),
        Index("ix_accounts_area", "region_code", "municipality_code"),
    )
    sessions = Table(
        "sessions", md,
        Column("id_hash", ascii_code(64), primary_key=True),  # SHA-256 of the cookie's id
        Column("login", ascii_code(32), nullable=False, index=True),
        Column("csrf", ascii_code(64), nullable=False),
        Column("must_set_password", Boolean, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("last_seen", UtcDateTime, nullable=False),
    )
    failures = Table(
        "sign_in_failures", md,
        # The login as typed (it may be no account at all), cut to 64 characters.
        Column("login", String(64), primary_key=True),
        Column("address", String(64), primary_key=True),
        Column("failures", Integer, nullable=False),
        Column("last_at", UtcDateTime, nullable=False),
        Index("ix_failures_address", "address", "last_at"),
    )
    prefs = Table(
        "publication_prefs", md,
        Column("login", ascii_code(32), primary_key=True),
        Column("publication_id", ascii_code(100), primary_key=True),
        Column("favourite", Boolean, nullable=False, server_default="0"),
        Column("expanded", Boolean, nullable=False, server_default="0"),
    )
    files = Table(
        "stored_files", md,
        Column("id", serial_id(), primary_key=True, autoincrement=True),
        Column("publication_id", ascii_code(100), nullable=False),
        # What the page and the report call it: the common file's name, or the title of a set
        # of per-school files ("Логины участников"); one school's own file has owner_login.
        Column("title", Text, nullable=False),
        Column("owner_login", ascii_code(32)),
        Column("name", Text, nullable=False),  # the name the browser saves it under
        Column("path", Text, nullable=False),  # inside the workspace's var/files/
        Column("size", BigInteger, nullable=False),
        Column("sha256", ascii_code(64), nullable=False),
        Column("added_at", UtcDateTime, nullable=False),
        Index("ix_files_publication", "publication_id", "title", "owner_login"),
    )
    downloads = Table(
        "downloads", md,
        Column("id", serial_id(), primary_key=True, autoincrement=True),
        Column("file_id", serial_id(), nullable=False),
        Column("login", ascii_code(32), nullable=False),
        Column("started_at", UtcDateTime, nullable=False),
        Column("bytes", BigInteger, nullable=False, server_default="0"),
        Column("finished", Boolean, nullable=False, server_default="0"),
        Index("ix_downloads_file_login", "file_id", "login", "started_at"),
        Index("ix_downloads_login", "login", "file_id"),
    )
    return CabinetTables(md, accounts, sessions, failures, prefs, files, downloads)
