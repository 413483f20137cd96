"""Batch manifests: the list of inbox paths a flow run takes, as a file on the shared storage."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from flows.errors import OperatorError
from flows.settings import Settings

BATCHES_DIR = "scale-batches"  # in var/: one folder of manifests per dispatch


def write_manifests(settings: Settings, batches: Sequence[Sequence[str]]) -> tuple[Path, list[str]]:
    """Each batch's list of inbox paths as a JSON file on the shared storage, in a folder of its
    own for this dispatch; returns the folder and the manifests' paths relative to the
    workspace. A flow run gets the manifest's name, not the list: Prefect stores and sends a
    run's parameters with the run (every poll of its state carried 5,000 paths, and the server
    spent seconds compressing them), and refuses them over 512 KB (about 12,000 paths)."""
    folder = settings.runtime / BATCHES_DIR / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    names = []
    for i, paths in enumerate(batches, start=1):
        target = folder / f"batch-{i:05d}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(list(paths), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)  # a worker never reads half a list
        names.append(str(target.relative_to(settings.home)))
    return folder, names


def read_manifest(path: Path) -> list[str]:
    """A batch manifest's inbox paths; a clear error when it is gone or not a list of paths."""
    try:
        paths = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise OperatorError(f"batch manifest {path} is missing: is the workspace on storage shared with "
                            "the dispatcher, at the same path?") from exc
    except (OSError, ValueError) as exc:
        raise OperatorError(f"batch manifest {path} cannot be read: {exc}") from exc
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise OperatorError(f"batch manifest {path} is not a JSON list of inbox paths")
    return paths
