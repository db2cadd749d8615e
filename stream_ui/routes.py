"""The HTTP API of the live view: read the pause, press Done, say "I can't do this", upload.

Every route takes the token from ``Authorization: Bearer <token>`` (the page reads it from
the URL fragment) and runs on the event loop (``async def``), so a resolution happens in one
loop step right after the token check: the first resolution wins, and any request after it
gets 410 with the recorded outcome.

Answers: 200 with JSON; 401 no token; 403 tampered or foreign token; 409 the page no longer
waits for that file; 410 the pause has ended (``detail`` says how and when, ``outcome`` holds
the record); 413 upload too large; 422 a missing or too long reason.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from playwright.async_api import FilePayload
from starlette.datastructures import UploadFile

from optexity_runner.pause import PauseOutcome
from stream_ui.access import PauseAccess, outcome_json
from stream_ui.hub import LiveViews
from stream_ui.messages import clean_reason
from stream_ui.state import TitleCache, pause_state

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""Playwright hands in-memory files to the page up to 50 MB."""
MAX_UPLOAD_FILES = 20

Authorization = Annotated[str | None, Header()]
"""The ``Authorization`` header (a module-level alias: FastAPI resolves it by name)."""


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def api_router(access: PauseAccess, views: LiveViews) -> APIRouter:
    router = APIRouter(prefix="/api/pause")

    @router.get("")
    async def read_pause(authorization: Authorization = None) -> dict[str, Any]:
        """The pause as the page shows it (410 once it has ended)."""
        pause = access.authorize(bearer(authorization))
        hub = views.existing(pause)
        return await pause_state(pause, hub.titles if hub else TitleCache())

    @router.post("/done")
    async def done(authorization: Authorization = None) -> dict[str, Any]:
        """Resolve the pause as done; the run continues on the viewed tab."""
        pause = access.authorize(bearer(authorization))
        return {"outcome": outcome_json(pause.resolve(PauseOutcome.DONE))}

    @router.post("/reject")
    async def reject(request: Request, authorization: Authorization = None) -> Any:
        """``{"reason": "..."}``: the person cannot do it; the run fails with the reason."""
        pause = access.authorize(bearer(authorization))
        try:
            body = await request.json()
        except ValueError:
            body = None
        try:
            reason = clean_reason(body.get("reason") if isinstance(body, dict) else None)
        except ValueError as exc:
            return JSONResponse({"detail": str(exc), "status": 422}, status_code=422)
        # Reading the body awaited: check again so a Done that came first still wins.
        pause = access.authorize(bearer(authorization))
        return {"outcome": outcome_json(pause.resolve(PauseOutcome.REJECTED, reason))}

    @router.post("/files")
    async def upload(request: Request, authorization: Authorization = None) -> Any:
        """Multipart ``chooser_id`` + ``files``: answer the page's file chooser (none = cancel).

        The files go to the page in memory (``FilePayload``), not as paths: Chromium reads a
        path-backed file lazily (when the form is submitted, maybe after Done), so a
        temporary file would have to outlive the request. Starlette's spooled upload files
        are closed (and removed) when the request ends.
        """
        access.authorize(bearer(authorization))
        declared = int(request.headers.get("content-length") or 0)
        if declared > MAX_UPLOAD_BYTES + 64 * 1024:
            return _too_large()
        async with request.form(max_files=MAX_UPLOAD_FILES, max_fields=5) as form:
            chooser_id = form.get("chooser_id")
            uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            payloads: list[FilePayload] = []
            total = 0
            for item in uploads:
                data = await item.read()
                total += len(data)
                if total > MAX_UPLOAD_BYTES:
                    return _too_large()
                if not item.filename and not data:
                    continue  # an empty file input
                payloads.append(
                    FilePayload(
                        name=os.path.basename(item.filename or "upload"),
                        mimeType=item.content_type or "application/octet-stream",
                        buffer=data,
                    )
                )
        pause = access.authorize(bearer(authorization))
        if not isinstance(chooser_id, str) or not await pause.answer_file_chooser(
            chooser_id, payloads
        ):
            return JSONResponse(
                {"detail": "The page no longer waits for a file.", "status": 409},
                status_code=409,
            )
        return {"files": [payload["name"] for payload in payloads]}

    return router


def _too_large() -> JSONResponse:
    megabytes = MAX_UPLOAD_BYTES // (1024 * 1024)
    return JSONResponse(
        {"detail": f"The files are too large ({megabytes} MB at most).", "status": 413},
        status_code=413,
    )
