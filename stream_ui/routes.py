"""The HTTP API of the live view: read the pause, press Done, say "I can't do this", upload.

Every route takes the token from ``Authorization: Bearer <token>`` (the page reads it from
the URL fragment) and runs on the event loop (``async def``), so a resolution happens in one
loop step right after the token check: the first resolution wins, and any request after it
gets 410 with the recorded outcome.

Answers: 200 with JSON; 401 no token; 403 tampered or foreign token; 409 the page no longer
waits for that file; 410 the pause has ended (``detail`` says how and when, ``outcome`` holds
the record, if this process still has it); 413 upload too large; 422 a missing or too long
reason.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from playwright.async_api import FilePayload
from starlette.datastructures import UploadFile
from starlette.types import Message

from optexity_runner.pause import PauseOutcome
from stream_ui.access import PauseAccess, outcome_json
from stream_ui.hub import LiveViews
from stream_ui.messages import clean_reason
from stream_ui.state import TitleCache, pause_state

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""Playwright hands in-memory files to the page up to 50 MB."""
MAX_UPLOAD_FILES = 20
MULTIPART_OVERHEAD = 64 * 1024
"""Room for the multipart framing (boundaries, part headers, the chooser id) in a body."""

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
        limit = MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
        if int(request.headers.get("content-length") or 0) > limit:
            return _too_large()
        try:
            async with _limited(request, limit).form(
                max_files=MAX_UPLOAD_FILES, max_fields=5
            ) as form:
                chooser_id = form.get("chooser_id")
                payloads = await _file_payloads(form.getlist("files"))
        except _BodyTooLarge:
            # Counted while reading: a chunked body (no Content-Length), or one longer than
            # it said, is cut off here rather than spooled to disk to the end.
            return _too_large()
        if payloads is None:
            return _too_large()
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


class _BodyTooLarge(Exception):
    """Raised while reading a request body that goes past its limit (answered 413)."""


def _limited(request: Request, limit: int) -> Request:
    """``request`` whose body reads raise ``_BodyTooLarge`` once more than ``limit`` bytes came."""
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
        return message

    return Request(request.scope, receive)


async def _file_payloads(items: list[UploadFile | str]) -> list[FilePayload] | None:
    """The uploaded files for the page, or None when together they are too large."""
    payloads: list[FilePayload] = []
    total = 0
    for item in items:
        if not isinstance(item, UploadFile):
            continue
        data = await item.read()
        total += len(data)
        if total > MAX_UPLOAD_BYTES:
            return None
        if not item.filename and not data:
            continue  # an empty file input
        payloads.append(
            FilePayload(
                name=os.path.basename(item.filename or "upload"),
                mimeType=item.content_type or "application/octet-stream",
                buffer=data,
            )
        )
    return payloads


def _too_large() -> JSONResponse:
    megabytes = MAX_UPLOAD_BYTES // (1024 * 1024)
    return JSONResponse(
        {"detail": f"The files are too large ({megabytes} MB at most).", "status": 413},
        status_code=413,
    )
