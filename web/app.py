"""The cabinet's application: ``create_app(web_settings)``; ``factory()`` builds it from the
environment for uvicorn's workers (``sbor web``)."""

from __future__ import annotations

import gc
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from flows.cabinet_reports import ReportRunner
from flows.uploads import UploadWorker
from flows.workspace import open_warehouse
from forms.publications import Publication, builtin_publications
from warehouse.cabinet import Cabinet
from warehouse.grouping import Grouping
from warehouse.report_requests import ReportRequests
from web import (
    routes_auth,
    routes_collect,
    routes_files,
    routes_monitor,
    routes_operator,
    routes_publications,
    routes_reports,
    routes_upload,
)
from web.collect import collect_state, field_input, select_options
from web.config import WebSettings, load_web_settings
from web.deps import Cab, MustSetPassword, NotSignedIn, Refused, environment
from web.security import SecurityHeaders

STATIC = Path(__file__).parent / "static"
# Allocations between two young collections in a served worker (Python's default: 700).
YOUNG_GENERATION = 10_000


def create_app(web: WebSettings, publications: tuple[Publication, ...] | None = None) -> FastAPI:
    """The cabinet for ``web``'s workspace, showing ``publications`` (default: the built-in ones)."""
    settings = web.settings
    cabinet = Cabinet(open_warehouse(settings), settings.secret())
    cabinet.create()
    app = FastAPI(title="sbor cabinet", docs_url=None, redoc_url=None, openapi_url=None)
    files_root = routes_files.files_root(settings.runtime)
    files_root.mkdir(parents=True, exist_ok=True)
    app.state.cab = Cab(web, cabinet, publications or builtin_publications(), environment(), files_root,
                        settings.secret())
    # Reports asked for in the cabinet run in this process; those a stopped one left are resumed.
    requests = ReportRequests(cabinet.warehouse.engine)
    requests.create()
    app.state.grouping = Grouping(cabinet.warehouse.engine)
    app.state.grouping.create()
    app.state.reports = ReportRunner(settings, requests, app.state.cab.publications)
    app.state.reports.resume()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.uploads = UploadWorker(settings)  # one per process; its thread starts on the first upload
    app.state.collect = collect_state(app.state.cab)
    app.state.cab.pages.globals["collect_block"] = routes_collect.block
    app.state.cab.pages.globals["field_input"] = field_input
    app.state.cab.pages.globals["select_options"] = select_options
    for module in (routes_auth, routes_publications, routes_files, routes_upload, routes_collect,
                   routes_monitor, routes_reports, routes_operator):
        app.include_router(module.router)

    @app.get("/health", response_class=PlainTextResponse)
    def health() -> str:
        """For a load balancer in front of several ``sbor web``: the process answers (no data,
        no database; the benchmark's bare endpoint too)."""
        return "ok"

    @app.exception_handler(NotSignedIn)
    def _sign_in(request: Request, _: NotSignedIn) -> Response:
        if request.method != "GET":
            return app.state.cab.render(request, "error.html", status=401, user=None,
                                        message="Сеанс завершён. Войдите в личный кабинет снова.")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(MustSetPassword)
    def _password(request: Request, _: MustSetPassword) -> Response:
        return RedirectResponse("/password", status_code=303)

    @app.exception_handler(Refused)
    def _refused(request: Request, exc: Refused) -> Response:
        session = getattr(request.state, "session", None)
        return app.state.cab.render(request, "error.html", status=exc.status,
                                    user=session.account if session else None,
                                    csrf=session.csrf if session else "", message=exc.message)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = ("Страница не найдена." if exc.status_code == 404
                   else "Запрос не может быть выполнен.")
        return app.state.cab.render(request, "error.html", status=exc.status_code, user=None, message=message)

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, _: RequestValidationError) -> Response:
        return app.state.cab.render(request, "error.html", status=404, user=None,
                                    message="Страница не найдена: проверьте адрес.")

    app.add_middleware(SecurityHeaders, https=web.cookie_secure,
                       larger=[(routes_upload.UPLOAD_PATH, routes_upload.UPLOAD_CAP, routes_upload.TOO_LARGE),
                               (routes_collect.FORM_PATH, routes_collect.FORM_CAP, routes_collect.FORM_TOO_LARGE)])
    return app


def factory() -> FastAPI:
    app = create_app(load_web_settings())
    app.state.uploads.warm()  # sbor web's process: the upload worker ready before the first upload
    # A worker starts with ~220,000 objects (FastAPI, Prefect, SQLAlchemy, the templates) that
    # live as long as it does, and Python's cyclic collector walked them all in every full
    # collection (~100 ms, the worker stalled). Under load those came often: the objects of 50
    # requests in flight survive the young collections and fill the old generation. py-spy
    # found over a quarter of a busy worker's time there. Frozen, the start-up's objects are never
    # walked again; a young collection every 10,000 allocations instead of 700 promotes fewer
    # objects of requests in flight. (Acyclic garbage is freed by reference counting anyway.)
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])
    return app
