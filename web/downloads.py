"""A file download that streams with HTTP Range (Starlette's FileResponse) and records what it
sent: bytes, and whether the answer was sent whole.

The record is one row written when the answer ends (whole, cut short, or refused), in one
statement: the route has already given its connection back, so the stream holds no database
connection, and a download costs the database one short write. A download the server process
dies in the middle of is not recorded (it was not finished either).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.concurrency import run_in_threadpool
from starlette.responses import FileResponse

from warehouse.storage import Storage
from web.security import Message, Receive, Scope, Send


class RecordedFileResponse(FileResponse):
    def __init__(self, *args: object, storage: Storage, file_id: int, login: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._storage, self._file_id, self._login = storage, file_id, login

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started_at = datetime.now(UTC)
        sent = 0
        promised: int | None = None
        reaches_end = True  # a 206 answer reaches the file's end only if its range does
        completed = False

        async def counting(message: Message) -> None:
            nonlocal sent, promised, reaches_end
            if message["type"] == "http.response.body":  # the common case first: ~800 of them for 50 MB
                sent += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-length":
                        promised = int(value)
                    elif name.lower() == b"content-range":  # "bytes 0-99/16000"
                        span, _, total = value.decode("latin-1").partition(" ")[2].partition("/")
                        last = span.rpartition("-")[2]
                        reaches_end = last.isdigit() and total.isdigit() and int(last) == int(total) - 1
            await send(message)

        try:
            await super().__call__(scope, receive, counting)  # type: ignore[arg-type]
            completed = True
        finally:
            # Finished: the answer went out whole and reached the file's last byte (a client
            # that hangs up midway leaves it short of its Content-Length; a resumed download
            # finishes with the range that ends the file).
            finished = (completed and reaches_end and promised is not None and sent >= promised
                        and scope["method"] != "HEAD")
            await run_in_threadpool(self._storage.record_download, self._file_id, self._login, started_at,
                                    sent, finished)
