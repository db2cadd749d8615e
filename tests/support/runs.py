"""Building automations, running them in the session browser, and reading what they recorded.

``ObservingBrowser`` stands in for the session browser and snapshots every open page when a
run's context closes, so tests check what the page really showed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from optexity_runner.loader import parse_automation
from optexity_runner.result import RunResult
from optexity_runner.runner import RunRequest, run_automation
from optexity_runner.settings import RunnerSettings

from .paths import EXAMPLE_BASE, EXAMPLES, TEST_SITE

# --- building automations ------------------------------------------------------------------


def example(name: str, base_url: str) -> dict[str, Any]:
    """An example automation from ``examples/`` pointed at ``base_url`` instead of :8765."""
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text.replace(EXAMPLE_BASE, base_url))
    return data


def action_node(kind: str, body: dict[str, Any], **node: Any) -> dict[str, Any]:
    """``{"type": "action_node", "interaction_action": {kind: body}}`` with fast defaults."""
    node.setdefault("end_sleep_time", 0)
    interaction = {kind: body}
    for key in ("max_tries", "max_timeout_seconds_per_try"):
        if key in node:
            interaction[key] = node.pop(key)
    return {"type": "action_node", "interaction_action": interaction, **node}


def node(kind: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An action node with two tries of 1 s (room for a loaded machine; tests of a missing
    element pass ``fast`` values so they fail quickly)."""
    extra.setdefault("max_tries", 2)
    extra.setdefault("max_timeout_seconds_per_try", 1.0)
    return action_node(kind, body, **extra)


#: Timing for steps expected to fail by waiting: two tries of 0.3 s.
FAST = {"max_tries": 2, "max_timeout_seconds_per_try": 0.3}


def automation(url: str, nodes: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A minimal automation around ``nodes``."""
    top.setdefault("parameters", {"input_parameters": {}})
    top.setdefault("take_final_screenshot", False)
    return {"url": url, "nodes": nodes, **top}


# --- running them --------------------------------------------------------------------------


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


# What a page shows, read just before the runner closes the run's browser context: every
# element with an id (form fields by value, checkboxes by state, others by text), the
# checked inputs as "name=value", which ids are in the viewport, and the scroll position.
_PAGE_STATE_JS = """() => {
  const values = {};
  for (const el of document.querySelectorAll("[id]")) {
    if (el.type === "checkbox" || el.type === "radio") values[el.id] = el.checked;
    else if (el.tagName === "SELECT" && el.multiple)
      values[el.id] = [...el.selectedOptions].map((o) => o.value);
    else if (["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)) values[el.id] = el.value;
    else values[el.id] = el.textContent.trim();
  }
  const inView = [...document.querySelectorAll("[id]")]
    .filter((el) => {
      const r = el.getBoundingClientRect();
      return r.height > 0 && r.bottom > 0 && r.top < innerHeight;
    })
    .map((el) => el.id);
  const checked = [...document.querySelectorAll("input:checked")]
    .map((e) => `${e.name}=${e.value}`);
  return { url: location.href, values, in_view: inView, checked, scroll_y: scrollY };
}"""


@dataclass
class PageState:
    url: str
    values: dict[str, Any]
    in_view: list[str]
    checked: list[str]
    scroll_y: float


class ObservingBrowser:
    """The session browser, plus a snapshot of every open page when a run's context closes."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser
        self.snapshots: list[list[PageState]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)

    async def new_context(self, **options: Any) -> BrowserContext:
        context = await self._browser.new_context(**options)
        close = context.close

        async def close_after_snapshot(**kwargs: Any) -> None:
            self.snapshots.append([await _state(page) for page in context.pages])
            await close(**kwargs)

        context.close = close_after_snapshot  # type: ignore[method-assign]
        return context

    @property
    def pages(self) -> list[PageState]:
        """The open pages at the end of the last run, in opening order."""
        assert self.snapshots, "no run has finished in this browser"
        return self.snapshots[-1]

    @property
    def page(self) -> PageState:
        """The only open page at the end of the last run."""
        assert len(self.pages) == 1, [p.url for p in self.pages]
        return self.pages[0]


async def _state(page: Page) -> PageState:
    try:
        return PageState(**await page.evaluate(_PAGE_STATE_JS))
    except PlaywrightError:  # a navigation replaced the document: read the new one
        await page.wait_for_load_state()
        return PageState(**await page.evaluate(_PAGE_STATE_JS))


async def run_nodes(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    url: str,
    *nodes: dict[str, Any],
    source_dir: Path = TEST_SITE,
    **top: Any,
) -> RunResult:
    """Run ``nodes`` from ``url`` in the observed browser."""
    data = automation(url, list(nodes), **top)
    return await run_data(data, observed, settings, source_dir=source_dir)  # type: ignore[arg-type]


# --- reading what a run recorded -----------------------------------------------------------


def events_of(result: RunResult) -> list[dict[str, Any]]:
    """The run's ``events.jsonl`` records."""
    lines = (Path(result.run_dir) / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def of(result: RunResult, name: str) -> list[dict[str, Any]]:
    """The run's events named ``name``."""
    return [e for e in events_of(result) if e["event"] == name]


def run_files_text(result: RunResult) -> str:
    """events.jsonl and result.json as written."""
    folder = Path(result.run_dir)
    return (folder / "events.jsonl").read_text() + (folder / "result.json").read_text()


def failed_cause(result: RunResult) -> str:
    """The error message of a run that must have failed."""
    assert result.status == "failed", result.model_dump_json(indent=2)
    assert result.error is not None
    return result.error.message
