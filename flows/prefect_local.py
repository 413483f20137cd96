"""Prefect's temporary server, bound to the sbor command that starts it.

With no ``PREFECT_API_URL``, Prefect 3 runs a flow against a temporary API server of its own:
``SubprocessASGIServer`` (``prefect/server/api/server.py``) starts uvicorn in a child process and
stops it at exit (``atexit``). A kill -9 skips ``atexit``: the server (about 190 MB) stayed alive
minutes later, one per killed ``sbor ingest``. Linux's PR_SET_PDEATHSIG makes the kernel kill the
child when its parent dies; it must be armed in the child, between fork and exec (``preexec_fn``).

``SubprocessASGIServer`` is a singleton per port that Prefect looks up as
``SubprocessASGIServer()`` wherever it needs an API; ``bind_temporary_server()`` puts a subclass in
that slot and starts it from the calling thread, so Prefect finds it running and uses it. The
death signal follows the THREAD that forked the child, so it is started from the main thread of
the command, which lives as long as the process (a Prefect service thread might not).

``server_configured()`` says, without importing Prefect (about 2 s of CPU), whether a run would
be recorded on a server of the operator's: the one-shot ``sbor ingest`` runs a small pass without
Prefect's engine otherwise (``flows.ingest.ingest_once``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from flows.errors import OperatorError

_PR_SET_PDEATHSIG = 1


def bound_to_this_process() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child killed when this process dies (Linux); None elsewhere.

    prctl is looked up here, in the parent: the child between fork and exec may not safely load
    libraries or take locks another thread held at the fork."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def server_configured(env: dict[str, str] | None = None) -> bool:
    """Whether Prefect would talk to a server of the operator's: ``PREFECT_API_URL`` in the
    environment or in the active profile of ``PREFECT_HOME/profiles.toml`` (what ``prefect config
    set`` writes). Read without importing Prefect; an unreadable profile file counts as none, as
    Prefect then falls back to its defaults too."""
    env = dict(os.environ) if env is None else env
    if env.get("PREFECT_API_URL"):
        return True
    home = Path(env.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    try:
        profiles = tomllib.loads((home / "profiles.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    active = env.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    profile = profiles.get("profiles", {}).get(active, {})
    return isinstance(profile, dict) and bool(profile.get("PREFECT_API_URL"))


def bind_temporary_server() -> None:
    """Start Prefect's temporary server now, as a child that dies with this process, unless a
    server is configured (``PREFECT_API_URL``) or the temporary one is switched off. Call it from
    the main thread before the first flow runs; calling it again does nothing."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_ALLOW_EPHEMERAL_MODE

    if PREFECT_API_URL.value() or not PREFECT_SERVER_ALLOW_EPHEMERAL_MODE.value():
        return

    class BoundServer(SubprocessASGIServer):
        def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
            # Prefect 3.9's command, with the death signal armed in the child.
            import prefect
            from prefect.settings import get_current_settings

            server_env = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                          "PREFECT__SERVER_FINAL": "1"}
            return subprocess.Popen(
                args=[sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
                      "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
                      "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
                env={**os.environ, **server_env,
                     **get_current_settings().to_environment_variables(exclude_unset=True)},
                preexec_fn=bound_to_this_process(),  # noqa: PLW1509 - armed before exec, see above
            )

    # The slot Prefect's own ``SubprocessASGIServer()`` returns (port None); ours if still empty.
    try:
        BoundServer().start()
    except (RuntimeError, OSError, httpx.HTTPError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise OperatorError(f"Prefect's temporary server did not start: {first}; set PREFECT_API_URL "
                            "to a running Prefect server") from exc
