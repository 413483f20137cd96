"""The app ``sbor web`` serves (``web.app:factory``) plus one route for the benchmark only: the
same 50 MB file through Starlette's plain ``FileResponse``, the baseline of the recorded download.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from starlette.responses import FileResponse

from web.app import factory as cabinet_factory


def factory() -> FastAPI:
    app = cabinet_factory()
    plain = os.environ["SBOR_BENCH_PLAIN_FILE"]

    @app.get("/bench/plain-file")
    def plain_file() -> FileResponse:
        return FileResponse(plain, filename="plain.bin")

    return app
