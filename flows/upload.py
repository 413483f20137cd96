"""«Загрузить файл» in the cabinet: a school's workbook goes into the inbox as the signed-in
login sent it (inbox/<login>/), is claimed at once by the uploading request and processed by
the inbox's own pipeline (archive, judge, record, answer), so the page can show the outcome.

The inbox is the queue: a second upload while the first is judged is another file in the
school's folder, claimed by its own request; a request that dies leaves its file claimed or
waiting, and the next `sbor ingest` finishes it (flows.pipeline's guarantees).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from flows.inbox import Arrival, claim, claim_folder
from flows.lease import held
from flows.pipeline import FileOutcome, load_world, process_batch
from flows.settings import Settings
from warehouse import Warehouse

MAX_UPLOAD = 20 * 1024 * 1024  # a larger body is abuse; up to it the pre-check answers (over 10 MB: too-large)


def safe_name(raw: str | None) -> str:
    """The file name as the school's browser gave it, without any folder part."""
    name = Path((raw or "").replace("\\", "/")).name.strip()
    return name[:150] or "файл.xlsx"


def upload(settings: Settings, wh: Warehouse, login: str, name: str, data: bytes) -> FileOutcome | None:
    """Put ``data`` into ``login``'s inbox folder and process it now; None when another
    process took it first (it is processed there)."""
    folder = settings.inbox / login
    folder.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name the inbox ignores, then renamed: a scan never sees half a file.
    temp = folder / f".upload-{uuid.uuid4().hex}.part"
    temp.write_bytes(data)
    target = folder / name
    if target.exists():
        target = folder / f"{Path(name).stem}-{uuid.uuid4().hex[:6]}{Path(name).suffix}"
    os.replace(temp, target)
    # The claim folder's lease is held while the file is processed, as an ingest pass holds it:
    # a web process's folder may be old, and a lapsed one is anyone's to take over.
    with held(claim_folder(settings.processing), settings.lease_seconds) as mine:
        claimed = claim(Arrival(target, login, name), mine)
        if claimed is None:
            return None
        [outcome] = process_batch(settings, wh, load_world(wh, settings), [claimed])
    return outcome
