"""Shared rig for the live view tests: a real server on loopback, real pauses, real viewers.

The paused run is simulated with what the interpreter would hold: a browser context, its
``Tabs`` and a pause from ``PauseCoordinator.open``. The person is a second browser context
opening the link (``open_viewer``) or a raw websocket client (``ws_connect``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page
from websockets.asyncio.client import ClientConnection, connect

from optexity_runner.pause import Pause, PauseCoordinator, PauseOutcome
from optexity_runner.settings import RunnerSettings
from optexity_runner.tabs import Tabs
from optexity_runner.tokens import LinkSigner, PauseRef, link_for
from stream_ui.frames import decode_frame_message
from stream_ui.hub import FrameHub
from stream_ui.server import LiveViewServer

RUN_VIEWPORT = {"width": 1280, "height": 720}


@dataclass
class PausedRun:
    """A run stopped at a human-in-the-loop node, and the link its owner was sent."""

    pause: Pause
    tabs: Tabs
    context: BrowserContext
    page: Page
    token: str
    link: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


@dataclass
class LiveRig:
    browser: Browser
    coordinator: PauseCoordinator
    signer: LinkSigner
    server: LiveViewServer
    base_url: str
    viewer_events: list[tuple[str, str]] = field(default_factory=list)
    runs: list[PausedRun] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    """Script errors and console errors of viewer pages (CSP violations land here)."""

    async def open_pause(
        self,
        url: str | None = None,
        html: str | None = None,
        max_wait_time: float = 30.0,
        run_id: str | None = None,
        instructions: str | None = "Sign in, then press Done.",
    ) -> PausedRun:
        context = await self.browser.new_context(viewport=RUN_VIEWPORT)  # type: ignore[arg-type]
        tabs = Tabs(context)
        page = await tabs.open_first()
        if url is not None:
            await page.goto(url)
        if html is not None:
            await page.set_content(html)
        pause = self.coordinator.open(
            run_id=run_id or f"run-{len(self.runs) + 1}",
            node_index="3",
            automation_name="Submit claim CLM-1001",
            instructions=instructions,
            tabs=tabs,
            max_wait_time=max_wait_time,
        )
        token = self.signer.mint(PauseRef(pause.run_id, pause.pause_id))
        run = PausedRun(pause, tabs, context, page, token, link_for(self.base_url, token))
        self.runs.append(run)
        return run

    def hub(self, run: PausedRun) -> FrameHub | None:
        return self.server.views.existing(run.pause)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=5)

    async def open_viewer(
        self, link: str, width: int = 900, height: int = 700, **options: Any
    ) -> Page:
        """The person's browser, sized differently from the run's, showing the first frame."""
        context = await self.browser.new_context(
            viewport={"width": width, "height": height}, **options
        )
        self.contexts.append(context)
        viewer = await context.new_page()
        viewer.on("pageerror", lambda error: self.page_errors.append(str(error)))
        viewer.on(
            "console",
            lambda message: (
                self.page_errors.append(message.text) if message.type == "error" else None
            ),
        )
        await viewer.goto(link)
        await until_js(viewer, "window.liveView && window.liveView.frame !== null")
        return viewer

    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws"

    async def close(self) -> None:
        for run in self.runs:
            run.pause.resolve(PauseOutcome.CANCELLED, "test over")
            await run.pause.release()
        await self.server.stop()
        for context in [*self.contexts, *(run.context for run in self.runs)]:
            await context.close()
        # An HTTP 4xx answer is logged by Chromium; anything else is a defect of the page.
        errors = [e for e in self.page_errors if not e.startswith("Failed to load resource")]
        assert errors == [], f"the viewer page reported errors: {errors}"


@asynccontextmanager
async def live_rig(browser: Browser, tmp_path: Path, **settings: Any) -> AsyncIterator[LiveRig]:
    """A started live view server and a place to open pauses; everything closed on exit.

    The ``rig`` fixture (conftest.py) wraps it with the defaults; ``settings`` override them.
    """
    runner_settings = RunnerSettings(out_dir=tmp_path / "runs", _env_file=None, **settings)
    coordinator = PauseCoordinator()
    signer = LinkSigner("live-view-test-key")
    events: list[tuple[str, str]] = []
    server = LiveViewServer(
        coordinator,
        signer,
        runner_settings,
        on_viewer=lambda p, what: events.append((p.pause_id, what)),
    )
    base_url = await server.start()
    live = LiveRig(browser, coordinator, signer, server, base_url, viewer_events=events)
    try:
        yield live
    finally:
        await live.close()


class RawViewer:
    """A websocket viewer without a page: for counting frames and reading messages."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def next_message(self, timeout: float = 3.0) -> str | bytes:
        return await asyncio.wait_for(self.connection.recv(), timeout)

    async def next_json(self, kind: str | None = None, timeout: float = 3.0) -> dict[str, Any]:
        """The next JSON message (of type ``kind`` if given; frames and others are skipped)."""
        while True:
            message = await self.next_message(timeout)
            if isinstance(message, str):
                data: dict[str, Any] = json.loads(message)
                if kind is None or data["type"] == kind:
                    return data

    async def next_frame(self, timeout: float = 3.0) -> tuple[dict[str, Any], bytes]:
        while True:
            message = await self.next_message(timeout)
            if isinstance(message, bytes):
                return decode_frame_message(message)

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))


async def ws_connect(rig: LiveRig, token: str) -> RawViewer:
    connection = await connect(rig.ws_url(), max_size=None)
    viewer = RawViewer(connection)
    await viewer.send({"token": token, "viewport": {"width": 1280, "height": 720}})
    return viewer


async def eventually(check: Any, timeout: float = 3.0, interval: float = 0.02) -> None:
    """Wait until ``check()`` is truthy (it may be async); fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check}")
        await asyncio.sleep(interval)


async def until_js(page: Page, expression: str, timeout: float = 3.0) -> None:
    """Wait until ``expression`` is truthy in ``page``.

    Not ``page.wait_for_function``: it evaluates strings with ``eval`` inside the page, which
    the live view's content security policy forbids (on purpose, and the tests keep it on).
    """
    await eventually(lambda: page.evaluate(expression), timeout)


async def click_through_view(viewer: Page, run_page: Page, selector: str) -> None:
    """Click the centre of ``selector`` of the run page where it appears on the viewer's picture."""
    target = await run_page.locator(selector).bounding_box()
    assert target is not None
    frame = await viewer.evaluate("window.liveView.frame")

    async def where() -> tuple[float, float]:
        picture = await viewer.locator("#picture").bounding_box()
        assert picture is not None
        scale_x = picture["width"] / frame["deviceWidth"]
        scale_y = picture["height"] / frame["deviceHeight"]
        return (
            picture["x"] + (target["x"] + target["width"] / 2) * scale_x,
            picture["y"] + (target["y"] + target["height"] / 2) * scale_y,
        )

    _, y = await where()
    await viewer.evaluate("(y) => window.scrollBy(0, y - innerHeight / 2)", y)  # into view
    x, y = await where()
    await viewer.mouse.click(x, y)
