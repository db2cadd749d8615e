"""The pause as the viewer page sees it: one JSON object, sent on connect and on every change."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from optexity_runner.pause import Pause
from stream_ui.access import iso_time, outcome_json

TITLE_TIMEOUT = 0.5
"""Seconds to wait for a tab's title; a busy page keeps its last known title."""


class TitleCache:
    """Last known title per tab.

    ``page.title()`` runs script in the page, which blocks while the page shows a dialog or is
    busy, so the tab list never waits long for it: it falls back to the last title it saw.
    """

    def __init__(self) -> None:
        self._titles: weakref.WeakKeyDictionary[Page, str] = weakref.WeakKeyDictionary()

    async def title(self, page: Page, blocked: bool = False) -> str:
        if not blocked:
            with contextlib.suppress(PlaywrightError, TimeoutError):
                self._titles[page] = await asyncio.wait_for(page.title(), TITLE_TIMEOUT)
        return self._titles.get(page, "")


async def tab_list(pause: Pause, titles: TitleCache) -> list[dict[str, Any]]:
    """The run's open tabs in opening order, the viewed one marked."""
    waiting = {pending.dialog.page for pending in pause.dialogs.values()}
    tabs = []
    for index, page in enumerate(pause.tabs.open_pages()):
        title = await titles.title(page, blocked=page in waiting)
        tabs.append(
            {
                "index": index,
                "title": title,
                "url": page.url,
                "viewed": page is pause.viewed_page,
            }
        )
    return tabs


async def pause_state(pause: Pause, titles: TitleCache) -> dict[str, Any]:
    """Everything the page shows besides the picture."""
    return {
        "automation": pause.automation_name,
        "instructions": pause.instructions,
        "node_index": pause.node_index,
        "deadline": iso_time(pause.deadline),
        "seconds_left": round(pause.seconds_left(), 1),
        "outcome": outcome_json(pause.resolution) if pause.resolution else None,
        "tabs": await tab_list(pause, titles),
        "dialogs": [pending.description for pending in pause.dialogs.values()],
        "file_choosers": [pending.description for pending in pause.file_choosers.values()],
    }
