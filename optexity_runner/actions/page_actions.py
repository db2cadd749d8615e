"""Page-level sub-actions of ``interaction_action``: navigation, tabs, scrolling, keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from optexity_runner.actions.downloads import (
    record_download,
    safe_filename,
    unique_path,
)
from optexity_runner.context import StepContext
from optexity_runner.errors import StepFailedError
from optexity_runner.urls import checked_url
from schemas.interaction import (
    CloseAllButLastTab,
    CloseCurrentTab,
    CloseTabsUntil,
    DownloadUrlAsPdf,
    GoBack,
    GoToUrl,
    KeyPress,
    Scroll,
    SwitchTab,
)

PageHandler = Callable[[Any, StepContext], Awaitable[None]]

NAVIGATION_TIMEOUT_MS = 30_000


async def go_to_url(action: GoToUrl, step: StepContext) -> None:
    """Open a URL in the current tab, or in a real new tab with ``new_tab``."""
    url = checked_url(step.page.url, step.text(action.url))
    page = await step.page.context.new_page() if action.new_tab else step.page
    response = await page.goto(url, timeout=NAVIGATION_TIMEOUT_MS)
    step.emit("navigated", url=page.url, status=response.status if response else None)


async def go_back(action: GoBack, step: StepContext) -> None:
    """Go back in the current tab's history."""
    await step.page.go_back(timeout=NAVIGATION_TIMEOUT_MS)


async def switch_tab(action: SwitchTab, step: StepContext) -> None:
    """Make tab ``tab_index`` (0 = first opened; negative counts from the end) current."""
    pages = step.run.tabs.open_pages()
    if not -len(pages) <= action.tab_index < len(pages):
        raise StepFailedError(
            step.index,
            "switch_tab",
            None,
            f"tab_index {action.tab_index} but {len(pages)} tab(s) open",
        )
    page = pages[action.tab_index]
    step.run.tabs.switch(page)
    await page.bring_to_front()


async def close_current_tab(action: CloseCurrentTab, step: StepContext) -> None:
    """Close the current tab, unless it is the last one (then a warning is recorded)."""
    pages = step.run.tabs.open_pages()
    if len(pages) <= 1:
        step.emit("warning", message="close_current_tab: not closing the last tab")
        return
    await step.page.close()


async def close_all_but_last_tab(action: CloseAllButLastTab, step: StepContext) -> None:
    """Close every tab except the most recently opened one."""
    pages = step.run.tabs.open_pages()
    for page in pages[:-1]:
        await page.close()
    step.run.tabs.switch(pages[-1])


async def close_tabs_until(action: CloseTabsUntil, step: StepContext) -> None:
    """Close tabs from the newest back until the newest open one matches (never the last)."""
    pages = step.run.tabs.open_pages()
    if action.tab_index is not None:
        keep = pages[: max(action.tab_index + 1, 1)]
    else:
        needle = step.text(action.matching_url or "")
        matches = [i for i, p in enumerate(pages) if needle in p.url]
        if not matches:
            urls = ", ".join(p.url for p in pages)
            raise StepFailedError(
                step.index,
                "close_tabs_until",
                None,
                f"no tab URL contains {needle!r}; open: {urls}",
            )
        keep = pages[: matches[-1] + 1]
    for page in pages[len(keep) :]:
        await page.close()
    step.run.tabs.switch(keep[-1])


async def scroll(action: Scroll, step: StepContext) -> None:
    """Scroll the page by ``amount`` pixels, or to the end (``-1``)."""
    if action.amount == -1:
        script = "d => window.scrollTo(0, d ? document.documentElement.scrollHeight : 0)"
        await step.page.evaluate(script, action.down)
    else:
        delta = action.amount if action.down else -action.amount
        await step.page.evaluate("d => window.scrollBy(0, d)", delta)


async def key_press(action: KeyPress, step: StepContext) -> None:
    """Press each key in order on the focused element (``Enter``, ``tab``, ``ctrl+a``...)."""
    for key in action.keys:
        await step.page.keyboard.press(key)


async def download_url_as_pdf(action: DownloadUrlAsPdf, step: StepContext) -> None:
    """Save the response body of ``url`` (default: the current page); HTML is printed to PDF."""
    url = checked_url(step.page.url, step.text(action.url) if action.url else step.page.url)
    fallback = safe_filename(url.rsplit("/", 1)[-1].split("?")[0], "page")
    name = (
        safe_filename(step.text(action.download_filename), fallback)
        if action.download_filename
        else fallback
    )
    response = await step.page.context.request.get(url)
    try:
        if not response.ok:
            raise StepFailedError(
                step.index, "download_url_as_pdf", None, f"{url} answered HTTP {response.status}"
            )
        is_html = "text/html" in response.headers.get("content-type", "")
        body = b"" if is_html else await response.body()
    finally:
        await response.dispose()
    if is_html and not name.lower().endswith(".pdf"):
        name += ".pdf"
    path = unique_path(step.run.store.downloads_dir, name)
    if is_html:
        # Printed from a page, not from the response: the PDF shows what a browser renders.
        current = step.page
        page = await current.context.new_page()
        try:
            await page.goto(url, timeout=NAVIGATION_TIMEOUT_MS)
            await page.pdf(path=path)
        finally:
            await page.close()
            step.run.tabs.switch(current)
    else:
        path.write_bytes(body)
    record_download(step, path, name, url, None)


PAGE_HANDLERS: Mapping[str, PageHandler] = {
    "go_to_url": go_to_url,
    "go_back": go_back,
    "switch_tab": switch_tab,
    "close_current_tab": close_current_tab,
    "close_all_but_last_tab": close_all_but_last_tab,
    "close_tabs_until": close_tabs_until,
    "scroll": scroll,
    "key_press": key_press,
    "download_url_as_pdf": download_url_as_pdf,
}

__all__ = ["PAGE_HANDLERS"]
