"""The ASGI application: every domain's routes, the error shape, operations endpoints."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from playback import __version__, jobs
from playback.accounts.auth import reads_the_caller
from playback.config import Settings, get_settings
from playback.db import Database
from playback.errors import DomainError, error_responses
from playback.kit.bodylimit import BodyLimitMiddleware
from playback.kit.observability import RequestObservabilityMiddleware, configure_logging
from playback.safety.ratelimit import create_rate_limiter
from playback.storage import LocalStorage, StorageError, create_storage

log = structlog.get_logger("playback.app")
WEB_DIR = Path(__file__).parent / "web"

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/media/", "/static/")) or path in ("/healthz", "/metrics"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(
    request: Request, status: int, code: str, message: str, **extra: Any
) -> Response:
    headers = extra.pop("headers", None)
    if _wants_html(request):
        from playback.web.pages import render_error

        return render_error(request, status, code, message, headers=headers)
    body: dict[str, Any] = {"error": {"code": code, "message": message, **extra}}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_fields(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the submitted values back (they may be a birthdate or a password).
    return [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "type": err.get("type"),
            "message": err.get("msg"),
        }
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return error_response(
            request, exc.status_code, exc.code, exc.message, headers=exc.headers()
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        fields = _validation_fields(exc)
        if any(f["type"] == "json_invalid" for f in fields):
            return error_response(request, 400, "malformed_json", "The body is not valid JSON.")
        return error_response(
            request,
            422,
            "validation_error",
            "Some fields are missing or of the wrong type.",
            fields=fields,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = "There is nothing here."
        return error_response(request, exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled_error", path=request.url.path)
        return error_response(request, 500, "internal_error", "Something went wrong on our side.")


def _openapi_with_one_error_shape(app: FastAPI) -> None:
    """Document our validation errors (the same shape as every other error) instead of
    FastAPI's default 422 body, and the 401 of every route that reads the caller's token."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = base()
        unauthorized = {
            "description": error_responses(401)[401]["description"],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        routes = [r for router in app.state.routers for r in router.routes]
        for route in routes:
            if isinstance(route, APIRoute) and reads_the_caller(route.dependant):
                for method in route.methods or ():
                    operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                    if operation is not None:
                        operation["responses"].setdefault("401", unauthorized)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                response = operation.get("responses", {}).get("422")
                if response is not None:
                    response["description"] = "Invalid values"
                    response["content"] = {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                    }
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def include_routers(app: FastAPI) -> None:
    """Every domain's routes; pages last, so API paths win over page paths."""
    from playback.accounts.api import router as accounts_router
    from playback.analytics.api import router as studio_router
    from playback.analytics.insights_api import router as insights_router
    from playback.analytics.trends_api import router as trends_router
    from playback.engagement.api import router as engagement_router
    from playback.engagement.comments_api import router as comments_router
    from playback.engagement.notifications_api import router as notifications_router
    from playback.feeds.api import router as feeds_router
    from playback.feeds.search_api import router as search_router
    from playback.lifecycle.api import router as lifecycle_router
    from playback.media.api import router as media_router
    from playback.safety.family_api import router as family_router
    from playback.safety.moderation_api import router as moderation_router
    from playback.safety.screen_time_api import router as screen_time_router
    from playback.social.api import router as social_router
    from playback.sounds.api import router as sounds_router
    from playback.web.discover import router as discover_router
    from playback.web.insights import router as insights_pages_router
    from playback.web.moderation import router as moderation_pages_router
    from playback.web.pages import router as pages_router
    from playback.web.sounds import router as sound_pages_router
    from playback.web.studio import router as studio_pages_router
    from playback.web.trends import router as trends_pages_router

    app.state.routers = [
        accounts_router,
        lifecycle_router,
        media_router,
        social_router,
        engagement_router,
        comments_router,
        notifications_router,
        feeds_router,
        search_router,
        sounds_router,
        moderation_router,
        studio_router,
        trends_router,
        insights_router,
        family_router,
        screen_time_router,
        sound_pages_router,
        pages_router,
        discover_router,
        moderation_pages_router,
        studio_pages_router,
        trends_pages_router,
        insights_pages_router,
    ]
    for router in app.state.routers:
        app.include_router(router)


def _warm_feeds(database: Database) -> None:
    from playback.feeds.candidates import warm

    try:
        with database.unit_of_work(write=False) as db:
            warm(db)
    except Exception:  # the first page computes what is missing instead
        log.exception("feed_warm_up_failed")


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    run_jobs: bool = False,
    warm: bool = False,
) -> FastAPI:
    """Build the app. ``run_jobs`` starts an in-process job consumer (embedded ``serve``);
    ``warm`` computes the lists every first For You page needs as the server starts."""
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)
    database = database or Database(settings)
    jobs.load_tasks()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        consumer = None
        if run_jobs:
            consumer = jobs.start_consumer(settings.jobs_workers, in_process=True)
            consumer.start()
            log.info("jobs_consumer_started", workers=settings.jobs_workers)
        if warm:
            threading.Thread(
                target=_warm_feeds, args=(database,), daemon=True, name="feed-warm-up"
            ).start()
        try:
            yield
        finally:
            if consumer is not None:
                consumer.stop(graceful=True)

    app = FastAPI(
        title="Playback",
        version=__version__,
        summary="An open-source, self-hostable short-video platform.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.storage = create_storage(settings)
    app.state.limiter = create_rate_limiter(settings.redis_url)

    install_error_handlers(app)
    _openapi_with_one_error_shape(app)
    upload_slack = 64 * 1024  # multipart framing around the file
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=settings.max_body_bytes,
        upload_limits=[
            (r"/api/v1/me/avatar", settings.avatar_max_bytes + upload_slack),
            (r"/settings/avatar", settings.avatar_max_bytes + upload_slack),
            (r"/api/v1/videos", settings.video_max_bytes + upload_slack),
            (r"/api/v1/me/import", settings.import_max_bytes + upload_slack),
        ],
    )
    app.add_middleware(RequestObservabilityMiddleware)

    include_routers(app)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with database.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/media/{key:path}", include_in_schema=False)
    def media(key: str, request: Request) -> Response:
        storage = app.state.storage
        if not isinstance(storage, LocalStorage):
            return error_response(request, 404, "not_found", "There is nothing here.")
        try:
            path = storage.path(key)
        except StorageError:
            path = None
        params = request.query_params
        if (
            path is None
            or not storage.check_signature(key, params.get("e"), params.get("s"))
            or not path.is_file()
        ):
            return error_response(request, 404, "not_found", "There is nothing here.")
        # A key is never rewritten (new content gets a new key): cache until the URL expires.
        return FileResponse(path, headers={"Cache-Control": "private, max-age=86400"})

    return app
