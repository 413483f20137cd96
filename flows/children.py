"""Helper processes that never outlive the process that started them.

sbor's helpers (the lanes of an ingest pass, the writers of a large publish) are spawned and
bound to their parent with Linux's PR_SET_PDEATHSIG: killed with it, so a helper never keeps
working on claims or files a later run has taken over.
"""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    """Be killed when the process that started this one dies (Linux); elsewhere a no-op."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before the signal was armed
        os._exit(1)


def ready() -> None:
    """A no-op job: submitting one starts a helper."""
    return None
