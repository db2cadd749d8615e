"""Shared fixtures: one real Chromium per session, the demo site and test pages on loopback.

Contexts are per run (the runner makes its own); tests that drive a page directly get a
fresh context from ``page``.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Playwright, async_playwright

from optexity_runner.browser import launch_browser
from optexity_runner.loader import parse_automation
from optexity_runner.result import RunResult
from optexity_runner.runner import RunRequest, run_automation
from optexity_runner.settings import RunnerSettings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TEST_SITE = Path(__file__).resolve().parent / "site"
EXAMPLE_BASE = "http://127.0.0.1:8765"


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
    return RunnerSettings(out_dir=tmp_path / "runs", retry_backoff=0, _env_file=None)  # type: ignore[call-arg]


def example(name: str, base_url: str) -> dict[str, Any]:
    """An example automation from ``examples/`` pointed at ``base_url`` instead of :8765."""
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text.replace(EXAMPLE_BASE, base_url))
    return data


async def run_data(
    data: dict[str, Any],
    browser: Browser,
    settings: RunnerSettings,
    source_dir: Path = EXAMPLES,
    **request: Any,
) -> RunResult:
    """Validate ``data`` as the CLI would and run it in the shared browser."""
    automation = parse_automation(json.dumps(data), "<test>")
    run_request = RunRequest(
        automation=automation,
        name=data.get("automation_description") or "test",
        source_dir=source_dir,
        settings=settings,
        **request,
    )
    return await run_automation(run_request, browser)


def events_of(result: RunResult) -> list[dict[str, Any]]:
    """The run's ``events.jsonl`` records."""
    lines = (Path(result.run_dir) / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def action_node(kind: str, body: dict[str, Any], **node: Any) -> dict[str, Any]:
    """``{"type": "action_node", "interaction_action": {kind: body}}`` with fast defaults."""
    node.setdefault("end_sleep_time", 0)
    interaction = {kind: body}
    for key in ("max_tries", "max_timeout_seconds_per_try"):
        if key in node:
            interaction[key] = node.pop(key)
    return {"type": "action_node", "interaction_action": interaction, **node}


def automation(url: str, nodes: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A minimal automation around ``nodes``."""
    top.setdefault("parameters", {"input_parameters": {}})
    top.setdefault("take_final_screenshot", False)
    return {"url": url, "nodes": nodes, **top}
