"""The one-shot command line: wall time of ``sbor ingest`` as a subprocess, as an operator or a
cron job runs it, on the embedded default (SQLite, no Prefect server configured).

Builds a workspace once (a synthetic registry, the SPO specialities collection published), then
runs, --runs times each and alternating, three commands in fresh processes:

- ``sbor --help``: the same run's baseline, Python and the command line starting up;
- ``sbor ingest --json`` on an empty inbox;
- ``sbor ingest --json`` on one correctly filled template in ``inbox/<login>/`` (a different file
  each run), its modification time set back past the quiet period, so that it is taken at once.

Prints the median and the range of each, and each ingest's median over the baseline's. The target
(issue 13): one file answered within 3 s wall. The machine is shared: compare the ratios.

Example: python bench/bench_oneshot.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

COLLECTION = REPO / "forms" / "collections" / "spo_specialities_2026.yaml"


def sbor(home: Path, *args: str) -> list[str]:
    # ``python -m flows.cli`` is what the ``sbor`` script runs; started from the repository, it
    # runs this checkout's code.
    return [sys.executable, "-m", "flows.cli", "--home", str(home), *args]


def workspace(home: Path, size: int, env: dict[str, str]) -> tuple[object, object, object, list[object]]:
    """A published workspace, built in this process (the publish flow's tasks called directly)."""
    from flows.publish import form_for, register, render_all
    from flows.settings import load_settings
    from flows.workspace import open_warehouse
    from forms import load_collection
    from forms.registry import generate_registry

    settings = load_settings(home, env=env)  # as the commands will see it (their secret)
    settings.ensure_dirs()
    open_warehouse(settings).upsert_organisations(generate_registry(size, 0))
    collection = load_collection(COLLECTION)
    form = form_for(collection)
    orgs = register.fn(settings, collection, form)
    render_all.fn(settings, collection, form, orgs, None)
    return settings, collection, form, orgs


def drop_one(settings: object, collection: object, form: object, org: object, rng: random.Random,
             quiet_seconds: float) -> Path:
    """One school's filled template in its inbox folder, older than the quiet period."""
    from flows.simulate import fill, good_values

    template = (settings.templates_dir / collection.id / f"{org.login}.xlsx").read_bytes()  # type: ignore[attr-defined]
    data = fill(template, form, good_values(form, collection, org, rng))  # type: ignore[arg-type]
    folder = settings.inbox / org.login  # type: ignore[attr-defined]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{collection.id}-{rng.randrange(10**9)}.xlsx"  # type: ignore[attr-defined]
    path.write_bytes(data)
    past = time.time() - quiet_seconds - 5
    os.utime(path, (past, past))
    return path


def timed(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[3:])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return wall, done.stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="Runs of each command (median reported).")
    parser.add_argument("--size", type=int, default=50, help="Organisations in the synthetic registry.")
    args = parser.parse_args(argv)

    # The embedded default: no Prefect server, no workspace settings but the secret (the
    # templates made here and the commands must share it).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SBOR_")) or k == "SBOR_SECRET"}
    with tempfile.TemporaryDirectory(prefix="sbor-oneshot-") as tmp:
        home = Path(tmp) / "ws"
        settings, collection, form, orgs = workspace(home, args.size, env)
        rng = random.Random(2026)
        walls: dict[str, list[float]] = {"help": [], "empty": [], "one": []}
        for run in range(args.runs):
            walls["help"].append(timed(sbor(home, "--help"), env)[0])
            walls["empty"].append(timed(sbor(home, "ingest", "--json"), env)[0])
            drop_one(settings, collection, form, orgs[run % len(orgs)], rng, settings.quiet_seconds)  # type: ignore[attr-defined]
            wall, out = timed(sbor(home, "ingest", "--json"), env)
            lines = [line for line in out.splitlines() if line.startswith("{")]
            outcomes = [json.loads(line)["outcome"] for line in lines]
            if outcomes != ["accepted"]:
                raise SystemExit(f"one correct file, answered {outcomes}: {out[-500:]}")
            walls["one"].append(wall)
        base = statistics.median(walls["help"])
        print(f"sbor one-shot, {args.runs} runs each, load average {os.getloadavg()[0]:.1f} at the end")
        labels = {"help": "sbor --help (baseline)", "empty": "sbor ingest, empty inbox", "one": "sbor ingest, one file"}
        for key, label in labels.items():
            med = statistics.median(walls[key])
            ratio = "" if key == "help" else f"  {med / base:5.1f}x baseline"
            print(f"{label:<28}{med:8.2f} s median  ({min(walls[key]):.2f}-{max(walls[key]):.2f}){ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
