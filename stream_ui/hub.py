"""FrameHub: one screencast per pause, shared by every viewer of it.

The hub streams the pause's viewed tab (``Pause.viewed_page``) with CDP
``Page.startScreencast`` only while at least one viewer is connected, at the size of the
largest viewer. Each frame is handed to every viewer's ``FrameSlot`` (newest frame wins),
then acknowledged, so Chromium sends the next one. A frame arriving sooner than
``screencast_max_fps`` allows is held, and acknowledged only when the interval has passed
and the newest frame is handed on: Chromium then captures at the cap, not faster, and the
picture never stops one change short.

It also follows the tabs: a popup the page opens becomes the viewed tab (``Pause``
records it, the hub moves the screencast), a closed viewed tab falls back to the run's
current one, and listeners hear ``tabs`` whenever the tab list or a title may have changed,
besides the pause's own ``dialog``, ``file_chooser`` and ``resolved``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from playwright.async_api import CDPSession, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame as PageFrame

from optexity_runner.pause import Pause
from optexity_runner.settings import RunnerSettings
from stream_ui.frames import Frame, FrameMeta, FrameSlot
from stream_ui.state import TitleCache

log = logging.getLogger(__name__)

HubListener = Callable[[str], None]
_EARLY = 0.001
"""A flush timer may fire this much before its slot (clock granularity) and still hand on."""

START_RETRY_DELAY = 0.5
"""Seconds before a screencast that did not start is tried again (while someone watches)."""


@dataclass(frozen=True)
class Size:
    """Device pixels a viewer has for the picture."""

    width: int
    height: int


@dataclass(frozen=True)
class _TabWatch:
    """The hub's listeners on one tab, kept to remove them when the pause ends."""

    navigated: Callable[[PageFrame], None]
    load: Callable[[Page], None]
    close: Callable[[Page], None]


class FrameHub:
    """The screencast of one pause and its viewers."""

    def __init__(self, pause: Pause, settings: RunnerSettings) -> None:
        self.pause = pause
        self.titles = TitleCache()
        self._quality = settings.screencast_quality
        self._min_interval = 1.0 / settings.screencast_max_fps
        self._unacked: list[tuple[CDPSession, int]] = []
        self._default_size = Size(settings.viewport_width, settings.viewport_height)
        self._viewers: dict[FrameSlot, Size] = {}
        self._listeners: list[HubListener] = []
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._seq = itertools.count(1)
        # The running screencast: its CDP session, page and size (all None when stopped).
        self._cdp: CDPSession | None = None
        self._page: Page | None = None
        self._size: Size | None = None
        self.latest: Frame | None = None
        """The newest frame received, sent at once to a viewer who connects."""
        self._latest_page: Page | None = None
        self._handed_seq = 0
        self._handed_at = float("-inf")
        self._flush: asyncio.TimerHandle | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._watched: dict[Page, _TabWatch] = {}
        self.closed = False
        self.frames_received = 0
        self.frames_handed_on = 0
        self._unsubscribe = pause.subscribe(self._on_pause_change)
        self._watch_tabs()

    # --- viewers ---
    @property
    def viewer_count(self) -> int:
        return len(self._viewers)

    @property
    def streaming(self) -> bool:
        """Whether a screencast is running (frames may arrive)."""
        return self._cdp is not None

    @property
    def page(self) -> Page | None:
        """The page being streamed."""
        return self._page

    async def join(self, size: Size | None = None) -> FrameSlot:
        """Add a viewer; the newest frame of the viewed tab is in its slot at once."""
        slot = FrameSlot()
        async with self._lock:
            self._viewers[slot] = size or self._default_size
            if self.latest is not None and self._latest_page is self._target_page():
                slot.put(self.latest)
            await self._sync()
        return slot

    async def leave(self, slot: FrameSlot) -> None:
        async with self._lock:
            self._viewers.pop(slot, None)
            await self._sync()

    async def resize(self, slot: FrameSlot, size: Size) -> None:
        async with self._lock:
            if slot in self._viewers:
                self._viewers[slot] = size
                await self._sync()

    async def show(self, page: Page) -> None:
        """Make ``page`` the viewed tab (the person picked it); the run continues there."""
        async with self._lock:
            self.pause.viewed_page = page
            await self._sync()
        try:
            await page.bring_to_front()
        except PlaywrightError as exc:
            log.debug("bring_to_front failed: %s", exc)
        self._emit("tabs")

    async def send(self, method: str, params: dict[str, Any]) -> None:
        """Send a CDP command (``Input.*``) to the viewed tab; nothing if none is streamed."""
        cdp = self._cdp
        if cdp is not None:
            await cdp.send(method, params)

    def subscribe(self, listener: HubListener) -> Callable[[], None]:
        """``listener(what)`` on tabs, dialog, file_chooser, resolved."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def close(self) -> None:
        """Stop streaming and let go of the pause's pages (after the pause ended)."""
        if self.closed:
            return
        self.closed = True
        self._unsubscribe()
        for page, watch in self._watched.items():
            page.remove_listener("framenavigated", watch.navigated)
            page.remove_listener("load", watch.load)
            page.remove_listener("close", watch.close)
        self._watched.clear()
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        async with self._lock:
            await self._stop()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()

    # --- the screencast ---
    def _target_page(self) -> Page | None:
        """The viewed tab, or the run's current one if the viewed tab closed."""
        page = self.pause.viewed_page
        if page is None or page.is_closed():
            try:
                page = self.pause.tabs.current
            except RuntimeError:
                return None
            self.pause.viewed_page = page
        return page

    def _wanted_size(self) -> Size:
        return Size(
            max(size.width for size in self._viewers.values()),
            max(size.height for size in self._viewers.values()),
        )

    async def _sync(self) -> None:
        """Make the screencast match: viewers or not, which tab, what size. Holds the lock."""
        page = None if self.closed or not self._viewers else self._target_page()
        if page is None:
            await self._stop()
            return
        size = self._wanted_size()
        if page is self._page and self._cdp is not None:
            if size != self._size and not await self._restart(self._cdp, size):
                await self._stop()
            return
        await self._stop()
        await self._start(page, size)

    async def _start(self, page: Page, size: Size) -> None:
        try:
            cdp = await page.context.new_cdp_session(page)
        except PlaywrightError as exc:
            log.debug("no CDP session for %s: %s", page.url, exc)
            self._retry_later()
            return
        cdp.on("Page.screencastFrame", lambda params: self._on_frame(cdp, page, params))
        # Set before the start: the first frame can arrive before the start's reply is
        # handled, and ``_on_frame`` keeps only frames of the current session.
        self._cdp, self._page = cdp, page
        if not await self._restart(cdp, size, running=False):
            await self._stop()  # not streaming: forget (and detach) it so a sync starts anew

    async def _restart(self, cdp: CDPSession, size: Size, running: bool = True) -> bool:
        """(Re)start the screencast at ``size``; False if it did not start."""
        try:
            if running:
                await cdp.send("Page.stopScreencast")
            await cdp.send(
                "Page.startScreencast",
                {
                    "format": "jpeg",
                    "quality": self._quality,
                    "maxWidth": size.width,
                    "maxHeight": size.height,
                },
            )
        except PlaywrightError as exc:
            # Usually the page closed or navigated under us: its close handler moves the view
            # on; otherwise the retry starts it again.
            log.debug("screencast did not start: %s", exc)
            self._retry_later()
            return False
        self._size = size
        return True

    def _retry_later(self) -> None:
        if self._retry is None and not self.closed:
            self._retry = asyncio.get_running_loop().call_later(
                START_RETRY_DELAY, lambda: self._spawn(self._retry_start())
            )

    async def _retry_start(self) -> None:
        self._retry = None
        await self._resync()

    async def _stop(self) -> None:
        cdp, self._cdp, self._page, self._size = self._cdp, None, None, None
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self._unacked.clear()  # the stopped session needs no acks
        if cdp is None:
            return
        # Detach whatever happens to the stop: a session left attached keeps its page's
        # handlers and Chromium's CDP state until the page closes.
        try:
            await cdp.send("Page.stopScreencast")
        except PlaywrightError as exc:
            log.debug("screencast stop on a closed page: %s", exc)
        finally:
            try:
                await cdp.detach()
            except PlaywrightError as exc:
                log.debug("CDP session already gone: %s", exc)

    def _on_frame(self, cdp: CDPSession, page: Page, params: dict[str, Any]) -> None:
        """A frame from Chromium: keep it, hand it on (or hold it for the fps cap), ack it."""
        if cdp is self._cdp and not self.closed:
            self.frames_received += 1
            self.latest = Frame(
                seq=next(self._seq),
                tab=self._tab_index(page),
                jpeg=base64.b64decode(params["data"]),
                meta=FrameMeta.from_cdp(params["metadata"]),
            )
            self._latest_page = page
            # Acknowledged when handed on, one per interval: Chromium captures no faster than
            # the fps cap instead of encoding frames that would be dropped (bench, figure 3).
            self._unacked.append((cdp, params["sessionId"]))
            wait = self._handed_at + self._min_interval - time.monotonic()
            if wait > 0:
                if self._flush is None:
                    self._flush = asyncio.get_running_loop().call_later(wait, self._hand_on)
                return
            self._hand_on()
            return
        self._spawn(self._ack(cdp, params["sessionId"]))

    def _hand_on(self) -> None:
        if self._flush is not None:
            # Called for a frame that came on time: the timer set for an earlier one would
            # hand on (and acknowledge) a second time in the same interval.
            self._flush.cancel()
            self._flush = None
        if self._unacked:
            # One ack per interval: Chromium keeps a few frames in flight, so acking them all
            # at once would let it capture several more straight away.
            cdp, session_id = self._unacked.pop(0)
            self._spawn(self._ack(cdp, session_id))
            if self._unacked:
                self._flush = asyncio.get_running_loop().call_later(
                    self._min_interval, self._hand_on
                )
        frame = self.latest
        if frame is None or frame.seq <= self._handed_seq or self._latest_page is not self._page:
            return
        # Keep to the fps grid: a frame handed on a little after its slot (timer latency, a
        # frame arriving just late) must not push every later slot back, or 25 fps becomes
        # ~24 (bench, figure 3). After a longer pause in frames the grid restarts from now.
        now, due = time.monotonic(), self._handed_at + self._min_interval
        if now < due - _EARLY:
            # A flush timer that a directly handed frame overtook: wait for the next slot, or
            # the viewer gets more than the cap (bench, figure 3 measured 32 fps at 25).
            if self._flush is None:
                self._flush = asyncio.get_running_loop().call_later(due - now, self._hand_on)
            return
        self._handed_seq = frame.seq
        self._handed_at = due if now - due < self._min_interval else now
        self.frames_handed_on += 1
        for slot in self._viewers:
            slot.put(frame)

    async def _ack(self, cdp: CDPSession, session_id: int) -> None:
        try:
            await cdp.send("Page.screencastFrameAck", {"sessionId": session_id})
        except PlaywrightError as exc:
            # Expected when the tab closed or the screencast moved to another tab.
            log.debug("screencast ack not delivered: %s", exc)

    def _tab_index(self, page: Page) -> int:
        pages = self.pause.tabs.open_pages()
        return pages.index(page) if page in pages else -1

    # --- tabs and the pause ---
    def _on_pause_change(self, what: str) -> None:
        if what == "resolved":
            self._spawn(self.close())
        elif what == "tabs":
            self._watch_tabs()
            self._spawn(self._resync())
        self._emit(what)

    def _watch_tabs(self) -> None:
        for page in self.pause.tabs.open_pages():
            if page in self._watched:
                continue

            def on_navigated(frame: PageFrame, page: Page = page) -> None:
                if frame is page.main_frame:
                    self._emit("tabs")

            def on_load(_: Page) -> None:
                self._emit("tabs")

            def on_close(closed: Page) -> None:
                self._watched.pop(closed, None)
                self._spawn(self._resync())
                self._emit("tabs")

            # A popup may have loaded before it was announced: tell once it is ready too.
            self._spawn(self._announce_when_loaded(page))
            page.on("framenavigated", on_navigated)
            page.on("load", on_load)
            page.on("close", on_close)
            self._watched[page] = _TabWatch(on_navigated, on_load, on_close)

    async def _announce_when_loaded(self, page: Page) -> None:
        try:
            await page.wait_for_load_state("load", timeout=30_000)
        except PlaywrightError as exc:
            log.debug("tab did not load: %s", exc)
            return
        self._emit("tabs")

    async def _resync(self) -> None:
        async with self._lock:
            await self._sync()

    def _emit(self, what: str) -> None:
        for listener in list(self._listeners):
            listener(what)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("live view task failed", exc_info=task.exception())


class LiveViews:
    """The hubs of this server, one per pause that has (or had) a viewer."""

    def __init__(self, settings: RunnerSettings) -> None:
        self._settings = settings
        self._hubs: dict[Pause, FrameHub] = {}

    def hub_for(self, pause: Pause) -> FrameHub:
        hub = self._hubs.get(pause)
        if hub is None or hub.closed:
            self._hubs = {p: h for p, h in self._hubs.items() if not h.closed}
            hub = self._hubs[pause] = FrameHub(pause, self._settings)
        return hub

    def existing(self, pause: Pause) -> FrameHub | None:
        hub = self._hubs.get(pause)
        return hub if hub is not None and not hub.closed else None

    async def close(self) -> None:
        hubs, self._hubs = list(self._hubs.values()), {}
        for hub in hubs:
            await hub.close()
