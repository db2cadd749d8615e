"""Shared fixtures: one real Chromium per session, the demo site and test pages on loopback.

Contexts are per run (the runner makes its own); tests that drive a page directly get a
fresh context from ``page``. Helpers that are not fixtures live in ``support/``.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Playwright, async_playwright
from support.live import LiveRig, live_rig
from support.paths import EXAMPLES, TEST_SITE
from support.runs import ObservingBrowser

from optexity_runner.browser import launch_browser
from optexity_runner.settings import RunnerSettings


def _load_demo_site_module() -> Any:
    spec = importlib.util.spec_from_file_location("demo_site", EXAMPLES / "site" / "server.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_site"] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


DemoSite = _load_demo_site_module().DemoSite


@pytest.fixture(scope="session")
def demo_site() -> Iterator[Any]:
    """The bundled Acme Claims Portal on a free loopback port."""
    with DemoSite() as site:
        yield site


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def test_site() -> Iterator[str]:
    """``tests/site/`` served on a free loopback port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(TEST_SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    """One real Chromium for the whole session (launched as the runner launches it)."""
    browser = await launch_browser(playwright)
    yield browser
    await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    page = await context.new_page()
    yield page
    await context.close()


@pytest.fixture
def settings(tmp_path: Path) -> RunnerSettings:
    """Settings for a test run: run folders under ``tmp_path``, no backoff between retries."""
    return RunnerSettings(out_dir=tmp_path / "runs", retry_backoff=0, _env_file=None)


@pytest.fixture
def observed(browser: Browser) -> ObservingBrowser:
    """The session browser, snapshotting each run's pages as its context closes."""
    return ObservingBrowser(browser)


@pytest.fixture
async def rig(browser: Browser, tmp_path: Path) -> AsyncIterator[LiveRig]:
    """A live view server with default settings, and pauses to open (see ``support.live``)."""
    async with live_rig(browser, tmp_path) as live:
        yield live
