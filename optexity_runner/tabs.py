"""The run's tabs: which page commands apply to, and who answers dialogs.

Commands apply to the current tab: the most recently opened one still open (as in
Optexity), unless a step or the person in the live view switched. Dialogs and file
choosers follow the automation (dialogs accepted) except while a pause is active, when
an ``Interceptor`` (the live view) receives them for the person to answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Protocol

from playwright.async_api import BrowserContext, Dialog, FileChooser, Page
from playwright.async_api import Error as PlaywrightError


class Interceptor(Protocol):
    """Receives dialogs and file choosers while a person has the browser."""

    def dialog_opened(self, dialog: Dialog) -> None: ...
    def file_chooser_opened(self, chooser: FileChooser) -> None: ...
    def page_opened(self, page: Page) -> None: ...


class Tabs:
    """Open pages in opening order plus the current one."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.pages: list[Page] = []
        self._current: Page | None = None
        self.interceptor: Interceptor | None = None
        self._opened = asyncio.Event()
        self._answering: set[asyncio.Future[None]] = set()
        context.on("page", self._on_page)

    async def open_first(self) -> Page:
        """Open the run's first tab (it becomes current)."""
        page = await self.context.new_page()
        if page not in self.pages:
            self._on_page(page)
        return page

    @property
    def current(self) -> Page:
        """The tab commands apply to: the switched-to one, else the newest still open."""
        if self._current is None or self._current.is_closed():
            self.pages = [p for p in self.pages if not p.is_closed()]
            if not self.pages:
                raise RuntimeError("the run has no open tab")
            self._current = self.pages[-1]
        return self._current

    def switch(self, page: Page) -> None:
        """Make ``page`` current (``switch_tab``, or the tab a person left the view on)."""
        self._current = page

    def open_pages(self) -> list[Page]:
        """Open tabs in the order they were opened."""
        self.pages = [p for p in self.pages if not p.is_closed()]
        return list(self.pages)

    def _on_page(self, page: Page) -> None:
        if page in self.pages:
            return
        self.pages.append(page)
        self._current = page
        page.on("dialog", self._on_dialog)
        page.on("close", lambda _: self._on_close(page))
        self._opened.set()
        if self.interceptor is not None:
            page.on("filechooser", self.interceptor.file_chooser_opened)
            self.interceptor.page_opened(page)

    def _on_close(self, page: Page) -> None:
        if page in self.pages:
            self.pages.remove(page)
        if self._current is page:
            self._current = self.pages[-1] if self.pages else None

    async def wait_for_new_page(self, before: int, timeout: float) -> Page | None:
        """Wait until more than ``before`` pages were ever opened; the newest, or None."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.pages) <= before:
            self._opened.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._opened.wait(), remaining)
            except TimeoutError:
                return None
        return self.pages[-1]

    def _on_dialog(self, dialog: Dialog) -> None:
        if self.interceptor is not None:
            self.interceptor.dialog_opened(dialog)
            return
        # Outside a pause the automation has no way to answer, so accept (the default a
        # person clicking through would choose); prompt() gets its default value.
        task = asyncio.ensure_future(_settle(dialog.accept(dialog.default_value or None)))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    def start_intercepting(self, interceptor: Interceptor) -> None:
        """Route dialogs, file choosers and new pages to ``interceptor`` (a pause began)."""
        self.interceptor = interceptor
        for page in self.open_pages():
            page.on("filechooser", interceptor.file_chooser_opened)

    def stop_intercepting(self) -> None:
        """Give dialogs and file choosers back to the automation (the pause ended)."""
        if self.interceptor is None:
            return
        for page in self.open_pages():
            page.remove_listener("filechooser", self.interceptor.file_chooser_opened)
        self.interceptor = None


async def _settle(answer: Awaitable[None]) -> None:
    # The page may close before the dialog is answered; nothing is left to do then.
    with contextlib.suppress(PlaywrightError):
        await answer
