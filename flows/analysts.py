"""The PostgreSQL role ``sbor sql`` logs in as, set up by the
operator once (``sbor warehouse analyst-role``), and again by every ``sbor publish`` (see
``warehouse/analysts.py``)."""

from __future__ import annotations

from flows.settings import Settings
from flows.workspace import open_warehouse
from warehouse import WarehouseError


def ensure_analysts(settings: Settings) -> str | None:
    """Set up the analysts' role if the warehouse is PostgreSQL's. Returns a warning to print
    when the operator's database user may not do it: publishing goes on, and ``sbor sql``
    refuses to run until the role exists (it never falls back to the operator's user)."""
    wh = open_warehouse(settings)
    try:
        if wh.analyst is not None:
            wh.ensure_analyst_role()
    except WarehouseError as exc:
        return str(exc)
    finally:
        wh.engine.dispose()
    return None
