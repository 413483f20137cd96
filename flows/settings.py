"""One frozen settings object, built from the environment (``SBOR_*``) and the command's options.

The workspace (``home``) holds the runtime folders: ``inbox/`` where schools' files arrive,
``outbox/`` where sbor writes templates, feedback and reports, and ``var/`` for runtime state
(the SQLite warehouse, the archive of every received file, the secret, Prefect's home). Nothing of
it lives inside a code package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from forms import MOSCOW, load_secret
from forms.errors import SborError


class SettingsError(SborError, ValueError):
    """A setting that cannot be used; the message names the variable or option."""


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    # Files judged and validated together: pandera's cost per call is spread over the batch
    # (measured, 2,000 files on two lanes: 500 a batch 2.9 ms a file, 200 a batch 3.4).
    batch_size: int = 500
    # Processes a large ingest pass runs its batches on (this one and workers - 1 helpers), and
    # the number of files from which a pass is large (see flows/lanes.py).
    workers: int = 2
    parallel_from: int = 400
    keep_reports: int = 5
    # Whether a file put straight into inbox/ (no login folder) is credited to the login its
    # signature names. Off: nobody vouches for such a file (any school could have put it there),
    # so it is refused and answered in outbox/feedback/_unidentified/. On for a workspace whose
    # flat inbox only coordinators or a trusted channel write to.
    trust_flat_inbox: bool = False
    # PostgreSQL: the role analysts' SQL logs in as (SBOR_ANALYST_ROLE; roles are the cluster's,
    # so workspaces sharing one name it apart) and a query's time limit (SBOR_SQL_TIMEOUT, s).
    analyst_role: str = "sbor_analyst"
    sql_timeout: int = 60
    # A file in the inbox is taken once whole: unchanged this long (SBOR_QUIET_SECONDS), or, if
    # it still looks unfinished (0 bytes, a zip without its end), unchanged for
    # SBOR_GIVE_UP_SECONDS, so that a truncated upload is answered all the same.
    quiet_seconds: float = 2.0
    give_up_seconds: float = 60.0
    # A claim folder whose owner stopped renewing it this long is taken over (SBOR_LEASE_SECONDS).
    lease_seconds: float = 120.0
    # A fixed clock for demos and tests ("2026-12-01 10:00", Moscow time); None is the real one.
    fixed_now: datetime | None = None
    secret_override: bytes | None = field(default=None, repr=False)

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def runtime(self) -> Path:
        return self.home / "var"

    @property
    def archive(self) -> Path:
        return self.runtime / "archive"

    @property
    def processing(self) -> Path:
        return self.runtime / "processing"

    @property
    def templates_dir(self) -> Path:
        return self.outbox / "templates"

    @property
    def feedback_dir(self) -> Path:
        return self.outbox / "feedback"

    @property
    def reports_dir(self) -> Path:
        return self.outbox / "reports"

    def now(self) -> datetime:
        return self.fixed_now or datetime.now(MOSCOW)

    def secret(self) -> bytes:
        return self.secret_override or load_secret(self.runtime)

    def ensure_dirs(self) -> None:
        for path in (self.inbox, self.outbox, self.runtime, self.archive, self.processing):
            path.mkdir(parents=True, exist_ok=True)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be 1 or 0 (true or false), got {env.get(name)!r}")
def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if not value >= 0:
        raise SettingsError(f"{name} must be zero or more seconds, got {raw!r}")
    return value


def parse_moment(raw: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a date and time like 2026-12-01T10:00, got {raw!r}") from exc
    return moment.replace(tzinfo=MOSCOW) if moment.tzinfo is None else moment


def load_settings(
    home: Path | str | None = None,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    now: str | None = None,
    trust_flat_inbox: bool | None = None,
) -> Settings:
    """Options win over ``SBOR_*`` variables, which win over the defaults (the current
    directory as the workspace, SQLite in its ``var/``)."""
    env = os.environ if env is None else env
    root = Path(home or env.get("SBOR_HOME") or Path.cwd()).expanduser().resolve()
    url = database_url or env.get("SBOR_DATABASE_URL") or f"sqlite:///{root / 'var' / 'sbor.db'}"
    raw_now = now or env.get("SBOR_NOW")
    return Settings(
        home=root,
        database_url=url,
        batch_size=_int(env, "SBOR_BATCH_SIZE", Settings.batch_size),
        workers=_int(env, "SBOR_WORKERS", Settings.workers),
        parallel_from=_int(env, "SBOR_PARALLEL_FROM", Settings.parallel_from),
        keep_reports=_int(env, "SBOR_KEEP_REPORTS", 5),
        trust_flat_inbox=(_flag(env, "SBOR_TRUST_FLAT_INBOX") if trust_flat_inbox is None
                          else trust_flat_inbox),
        analyst_role=env.get("SBOR_ANALYST_ROLE") or Settings.analyst_role,
        sql_timeout=_int(env, "SBOR_SQL_TIMEOUT", Settings.sql_timeout),
        quiet_seconds=_seconds(env, "SBOR_QUIET_SECONDS", Settings.quiet_seconds),
        give_up_seconds=_seconds(env, "SBOR_GIVE_UP_SECONDS", Settings.give_up_seconds),
        lease_seconds=_seconds(env, "SBOR_LEASE_SECONDS", Settings.lease_seconds),
        fixed_now=parse_moment(raw_now, "SBOR_NOW / --now") if raw_now else None,
    )
