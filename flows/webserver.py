"""How ``sbor web``'s worker processes share its port: each with a listening socket of its own.

uvicorn's ``--workers`` binds one socket in the parent and hands it to every worker, so all of
them wait on one accept queue. The kernel wakes one worker for a burst of new connections and
its event loop accepts the whole backlog at once: with 50 users arriving together, all 50
keep-alive connections landed on one of two workers about half the time (``ss`` counted them),
that worker's core ran at 100 % and the other stayed idle. On Linux each worker here binds the
port itself with ``SO_REUSEPORT``, and the kernel spreads new connections across the workers'
queues by a hash of the client's address and port (see uvicorn PR #2472 and the discussion
behind it). Supervision stays uvicorn's (``Multiprocess``: restarts, signals, health checks).
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from flows.errors import OperatorError


def balanced() -> bool:
    """Whether this system spreads connections across sockets bound with SO_REUSEPORT (Linux
    does; BSD and macOS accept the option but send every connection to one socket)."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def _bound(family: int, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class OwnSocket:
    """Stands in for the socket uvicorn hands a worker: pickled into the worker's process (they
    are spawned), it unpickles as a new socket bound to the address, which the worker's event
    loop then listens on. A restarted worker gets one too."""

    def __init__(self, family: int, host: str, port: int) -> None:
        self.family, self.host, self.port = family, host, port

    def __reduce__(self) -> tuple[Any, tuple[int, str, int]]:
        return _bound, (self.family, self.host, self.port)


def serve(app: str, *, host: str, port: int, workers: int, **options: Any) -> None:
    """Serve the app factory named ``app`` ("module:function") with ``workers`` processes;
    ``options`` are uvicorn's ``Config`` arguments. One worker, or a system without balanced
    SO_REUSEPORT, is served as ``uvicorn.run`` would."""
    if workers == 1 or not balanced():
        uvicorn.run(app, factory=True, host=host, port=port, workers=workers, **options)
        return
    config = uvicorn.Config(app, factory=True, host=host, port=port, workers=workers, **options)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        # Held by this process while its workers run: a port already taken fails here, once,
        # not in every worker. Bound but never listening, it is given no connection.
        held = _bound(family, host, port)
    except OSError as exc:
        raise OperatorError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    with held:
        try:
            Multiprocess(config, sockets=[OwnSocket(family, host, port)]).run()  # type: ignore[list-item]
        except KeyboardInterrupt:
            pass
