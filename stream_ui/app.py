"""The live view web app: the page, its static files, the HTTP API and the websocket.

``GET /live`` serves the page and changes nothing (mail scanners open every link); the token
stays in the URL fragment (``/live#<token>``) and the page's script presents it. Every
answer carries ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer``, and a
content security policy that allows only this origin: the page needs nothing from outside.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from optexity_runner.pause import Pause, PauseCoordinator
from optexity_runner.settings import RunnerSettings
from optexity_runner.tokens import LinkSigner
from stream_ui.access import AccessDenied, PauseAccess
from stream_ui.hub import LiveViews
from stream_ui.routes import api_router
from stream_ui.session import ViewerSession

STATIC_DIR = Path(__file__).resolve().parent / "static"

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    ),
}


def create_app(
    coordinator: PauseCoordinator,
    signer: LinkSigner,
    settings: RunnerSettings,
    on_viewer: Callable[[Pause, str], None] | None = None,
    *,
    views: LiveViews | None = None,
) -> FastAPI:
    """The live view app for ``coordinator``'s pauses. ``views`` is shared with the server."""
    access = PauseAccess(coordinator, signer)
    live_views = views or LiveViews(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await live_views.close()

    app = FastAPI(
        title="Optexity live view",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(AccessDenied)
    async def denied(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, AccessDenied)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.as_json(), status_code=exc.status, headers=headers)

    @app.get("/live", include_in_schema=False)
    async def live_page() -> FileResponse:
        """The viewer page; it reads the token from the fragment. Changes nothing."""
        return FileResponse(STATIC_DIR / "live.html", media_type="text/html; charset=utf-8")

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.websocket("/ws")
    async def viewer(websocket: WebSocket) -> None:
        await ViewerSession(websocket, access, live_views, on_viewer).run()

    app.include_router(api_router(access, live_views))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
