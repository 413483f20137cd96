"""A published workspace's inbox as the tests of its holes drive it: the real command line in a
process of its own, files dropped with an age, and what is left in the inbox and the claims."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from flows.settings import Settings, load_settings
from tests.hostile import NOW, Kit
from tests.workbooks import SECRET


def sbor(kit: Kit, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real command line, in a process of its own, as an operator or cron runs it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SBOR_")}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "--home", str(kit.settings.home), "--now", NOW, *args],
        env={**base, "SBOR_SECRET": SECRET.decode(), **env}, capture_output=True, text=True, timeout=300)


def lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def drop(kit: Kit, login: str, name: str, data: bytes, age: float = 60.0) -> Path:
    """A file in inbox/<login>/ that arrived ``age`` seconds ago."""
    path = kit.settings.inbox / login / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def inbox_files(kit: Kit) -> list[Path]:
    return sorted(p for p in kit.settings.inbox.rglob("*") if p.is_file())


def claimed_files(kit: Kit) -> list[Path]:
    return sorted(p for p in kit.settings.processing.rglob("*") if p.is_file())


def backdate(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def with_env(kit: Kit, **env: str) -> Settings:
    """The kit's workspace with these ``SBOR_*`` variables, read as the command line reads them."""
    loaded = load_settings(kit.settings.home, kit.settings.database_url, env=env)
    return replace(loaded, fixed_now=kit.settings.fixed_now, secret_override=SECRET)
