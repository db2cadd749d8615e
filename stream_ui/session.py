"""One viewer on the websocket: authenticate, stream frames, relay input, push state.

The conversation (JSON text messages unless noted)::

    viewer -> {"token": "...", "viewport": {"width": w, "height": h}}
    server -> {"type": "hello", "state": {...}}            or "denied" / "ended", then close
    server -> <binary frame>                                the newest frame, then each new one
    server -> {"type": "state", "state": {...}}            tabs, dialogs, file choosers changed
    server -> {"type": "time", "seconds_left": s}          every few seconds
    server -> {"type": "ended", "status": 410, "message": "...", "outcome": {...}}, then close
    viewer -> mouse | tap | key | text | paste | switch_tab | dialog_answer | resize | done | reject
    server -> {"type": "error", "message": "..."}          a message that could not be used

Three tasks run side by side: frames (slot to socket), updates (pause and hub changes to
socket) and the receiver. Input events go through a small queue to a fourth task, so a page
that is slow to take input (or shows a dialog) never holds up Done, a dialog answer or a tab
switch. Every message re-checks the token: once the pause has ended the viewer is told why
and the socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from playwright.async_api import Error as PlaywrightError
from starlette.websockets import WebSocket, WebSocketDisconnect

from optexity_runner.pause import Pause, PauseOutcome
from stream_ui.access import INCOMPLETE, AccessDenied, PauseAccess, outcome_json
from stream_ui.frames import FrameMeta, FrameSlot
from stream_ui.hub import FrameHub, LiveViews, Size
from stream_ui.input_mapping import key_params, mouse_params, tap_params
from stream_ui.messages import (
    INPUT_MESSAGES,
    BadMessage,
    DialogAnswer,
    Done,
    Key,
    Mouse,
    Paste,
    Reject,
    Resize,
    SwitchTab,
    Tap,
    Text,
    ViewerMessage,
    clean_reason,
    parse_hello,
    parse_viewer_message,
)
from stream_ui.state import pause_state

log = logging.getLogger(__name__)

ViewerCallback = Callable[[Pause, str], None]
HELLO_TIMEOUT = 10.0
TIME_EVERY = 5.0
INPUT_QUEUE = 64
CLOSE_DENIED = 4403
CLOSE_ENDED = 4410
_SEND_ERRORS = (WebSocketDisconnect, RuntimeError, OSError)


class ViewerSession:
    """Serves one websocket from accept to close."""

    def __init__(
        self,
        websocket: WebSocket,
        access: PauseAccess,
        views: LiveViews,
        on_viewer: ViewerCallback | None,
    ) -> None:
        self._ws = websocket
        self._access = access
        self._views = views
        self._on_viewer = on_viewer
        self._send_lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._inputs: asyncio.Queue[ViewerMessage] = asyncio.Queue(INPUT_QUEUE)
        self._token = ""
        self._shown: FrameMeta | None = None
        """Metadata of the last frame sent: clicks are mapped with what the person saw."""

    async def run(self) -> None:
        await self._ws.accept()
        try:
            raw = await asyncio.wait_for(self._ws.receive_text(), HELLO_TIMEOUT)
            hello = parse_hello(raw)
        except (TimeoutError, BadMessage, WebSocketDisconnect, RuntimeError, KeyError) as exc:
            log.debug("no hello from the viewer: %r", exc)
            await self._close_denied(AccessDenied(401, INCOMPLETE))
            return
        self._token = hello.token
        try:
            pause = self._access.authorize(hello.token)
        except AccessDenied as denied:
            await self._close_denied(denied)
            return
        hub = self._views.hub_for(pause)
        size = Size(hello.viewport.width, hello.viewport.height) if hello.viewport else None
        unsubscribe = hub.subscribe(lambda _: self._changed.set())
        await self._send_json({"type": "hello", "state": await pause_state(pause, hub.titles)})
        slot = await hub.join(size)
        self._notify(pause, "connected")
        tasks = [
            asyncio.ensure_future(self._send_frames(slot)),
            asyncio.ensure_future(self._send_updates(pause, hub)),
            asyncio.ensure_future(self._receive(hub, slot)),
            asyncio.ensure_future(self._relay_input(hub)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            unsubscribe()
            await hub.leave(slot)
            self._notify(pause, "disconnected")
            with contextlib.suppress(*_SEND_ERRORS):
                await self._ws.close()

    # --- server to viewer ---
    async def _send_frames(self, slot: FrameSlot) -> None:
        while True:
            frame = await slot.take()
            self._shown = frame.meta
            if not await self._send(bytes_=frame.message):
                return

    async def _send_updates(self, pause: Pause, hub: FrameHub) -> None:
        last: dict[str, Any] | None = None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), TIME_EVERY)
            self._changed.clear()
            if not pause.is_open:
                try:
                    self._access.authorize(self._token)
                except AccessDenied as denied:
                    await self._close_denied(denied)
                return
            state = await pause_state(pause, hub.titles)
            comparable = {k: v for k, v in state.items() if k != "seconds_left"}
            if comparable != last:
                last = comparable
                sent = await self._send_json({"type": "state", "state": state})
            else:
                sent = await self._send_json(
                    {"type": "time", "seconds_left": state["seconds_left"]}
                )
            if not sent:
                return

    async def _send_json(self, message: dict[str, Any]) -> bool:
        return await self._send(text=json.dumps(message))

    async def _send(self, text: str | None = None, bytes_: bytes | None = None) -> bool:
        async with self._send_lock:
            try:
                if bytes_ is not None:
                    await self._ws.send_bytes(bytes_)
                else:
                    await self._ws.send_text(text or "")
            except _SEND_ERRORS:
                return False
        return True

    async def _close_denied(self, denied: AccessDenied) -> None:
        kind = "ended" if denied.status == 410 else "denied"
        await self._send_json({"type": kind, **_denied_body(denied)})
        with contextlib.suppress(*_SEND_ERRORS):
            await self._ws.close(CLOSE_ENDED if denied.status == 410 else CLOSE_DENIED)

    # --- viewer to server ---
    async def _receive(self, hub: FrameHub, slot: FrameSlot) -> None:
        while True:
            event = await self._ws.receive()
            if event["type"] == "websocket.disconnect":
                return
            raw = event.get("text")
            if raw is None:
                continue
            try:
                message = parse_viewer_message(raw)
            except BadMessage as exc:
                await self._send_json({"type": "error", "message": str(exc)})
                continue
            try:
                pause = self._access.authorize(self._token)
            except AccessDenied as denied:
                await self._close_denied(denied)
                return
            if isinstance(message, INPUT_MESSAGES):
                self._queue_input(message)
            elif not await self._control(pause, hub, slot, message):
                return

    def _queue_input(self, message: ViewerMessage) -> None:
        if self._inputs.full() and isinstance(message, Mouse) and message.action == "move":
            return  # the page is behind; a later move supersedes this one
        with contextlib.suppress(asyncio.QueueFull):
            self._inputs.put_nowait(message)

    async def _control(
        self, pause: Pause, hub: FrameHub, slot: FrameSlot, message: ViewerMessage
    ) -> bool:
        """Act on a non-input message; False when the session should end."""
        match message:
            case Resize(width=width, height=height):
                await hub.resize(slot, Size(width, height))
            case SwitchTab(index=index):
                pages = pause.tabs.open_pages()
                if index >= len(pages):
                    await self._send_json({"type": "error", "message": "That tab has closed."})
                else:
                    await hub.show(pages[index])
            case DialogAnswer(id=dialog_id, accept=accept, text=text):
                if not await pause.answer_dialog(dialog_id, accept, text):
                    await self._send_json(
                        {"type": "error", "message": "That dialog is no longer open."}
                    )
            case Done():
                pause.resolve(PauseOutcome.DONE)
            case Reject(reason=reason):
                try:
                    pause.resolve(PauseOutcome.REJECTED, clean_reason(reason))
                except ValueError as exc:
                    await self._send_json({"type": "error", "message": str(exc)})
        return True

    async def _relay_input(self, hub: FrameHub) -> None:
        while True:
            message = await self._inputs.get()
            meta = self._shown
            try:
                match message:
                    case Mouse() if meta is not None:
                        await hub.send("Input.dispatchMouseEvent", mouse_params(message, meta))
                    case Tap() if meta is not None:
                        for params in tap_params(message, meta):
                            await hub.send("Input.dispatchMouseEvent", params)
                    case Key():
                        await hub.send("Input.dispatchKeyEvent", key_params(message))
                    case Text(text=text) | Paste(text=text):
                        await hub.send("Input.insertText", {"text": text})
            except PlaywrightError as exc:
                # The tab navigated or closed while the event was on its way.
                log.debug("input not delivered: %s", exc)

    def _notify(self, pause: Pause, what: str) -> None:
        if self._on_viewer is None:
            return
        try:
            self._on_viewer(pause, what)
        except Exception:
            log.exception("on_viewer(%s) failed", what)


def _denied_body(denied: AccessDenied) -> dict[str, Any]:
    return {
        "status": denied.status,
        "message": denied.message,
        "outcome": outcome_json(denied.resolution) if denied.resolution else None,
    }
