"""``interaction_action``: the retry loop and one handler per sub-action.

Element sub-actions are retried: each try waits up to ``max_timeout_seconds_per_try`` for
the element to be visible, then acts. Page-level sub-actions (navigation, tabs, keys) run
once: retrying a navigation would repeat its side effects.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from playwright.async_api import Error as PlaywrightError, Locator

from optexity_runner.actions import page_actions
from optexity_runner.actions.downloads import capture_download
from optexity_runner.context import StepContext
from optexity_runner.errors import PlaceholderError, StepFailedError
from optexity_runner.placeholders import find_placeholders
from schemas.interaction import (
    BaseAction,
    Check,
    ClickElement,
    Hover,
    InputText,
    InteractionAction,
    SelectOption,
    Uncheck,
    UploadFile,
)

ElementHandler = Callable[[Any, Locator, StepContext, float], Awaitable[None]]


async def click_element(action: ClickElement, target: Locator, step: StepContext, timeout: float) -> None:
    """Click once (twice for ``double_click``); with ``mouse_click`` at the centre + deviation."""
    clicks = 2 if action.double_click else 1

    async def click() -> None:
        if action.mouse_click:
            # The box is in viewport coordinates: an element below the fold must be scrolled
            # into view first, or the mouse lands on whatever is at those coordinates.
            await target.scroll_into_view_if_needed(timeout=timeout)
            box = await target.bounding_box(timeout=timeout)
            if box is None:
                raise StepFailedError(step.index, "click_element", action.command, "element has no box")
            dev = action.mouse_click_deviation
            x = box["x"] + box["width"] / 2 + (dev.x if dev else 0)
            y = box["y"] + box["height"] / 2 + (dev.y if dev else 0)
            await step.page.mouse.click(x, y, button=action.button, click_count=clicks)
        elif action.double_click:
            await target.dblclick(button=action.button, force=action.force, timeout=timeout)
        else:
            await target.click(button=action.button, force=action.force, timeout=timeout)

    if action.expect_download:
        await capture_download(step, click, action.download_filename, action.download_metadata)
    else:
        await click()


async def input_text(action: InputText, target: Locator, step: StepContext, timeout: float) -> None:
    """Fill, type or key-press the text exactly as given (quotes kept)."""
    text = step.text(action.input_text or "")
    if action.fill_or_type == "fill":
        await target.fill(text, timeout=timeout)
    elif action.fill_or_type == "type":
        await target.press_sequentially(text, timeout=timeout)
    else:
        await target.focus(timeout=timeout)
        await step.page.keyboard.type(text)
    if action.press_enter:
        await target.press("Enter", timeout=timeout)


async def select_option(action: SelectOption, target: Locator, step: StepContext, timeout: float) -> None:
    """Select by value, then label, then case-insensitive label, then regex."""
    options: list[dict[str, str]] = await target.evaluate(
        "el => Array.from(el.options || []).map(o => ({value: o.value, label: o.label}))",
        timeout=timeout,
    )
    wanted = [match_option(step.text(v), options) for v in action.select_values]

    async def select() -> None:
        await target.select_option(value=wanted, timeout=timeout)

    if action.expect_download:
        await capture_download(step, select, action.download_filename, None)
    else:
        await select()


def match_option(requested: str, options: list[dict[str, str]]) -> str:
    """The value of the option ``requested`` names; ``LookupError`` listing the options."""
    for option in options:
        if option["value"] == requested:
            return option["value"]
    for option in options:
        if option["label"] == requested:
            return option["value"]
    for option in options:
        if option["label"].casefold() == requested.casefold():
            return option["value"]
    try:
        pattern = re.compile(requested)
    except re.error:
        pattern = None
    if pattern is not None:
        for option in options:
            if pattern.fullmatch(option["label"]) or pattern.fullmatch(option["value"]):
                return option["value"]
    listed = ", ".join(f"{o['label']!r} (value {o['value']!r})" for o in options) or "none"
    raise LookupError(f"no option matches {requested!r}; options: {listed}")


async def check(action: Check, target: Locator, step: StepContext, timeout: float) -> None:
    """Check a checkbox or radio; nothing happens if it is already checked."""
    await target.check(timeout=timeout)


async def uncheck(action: Uncheck, target: Locator, step: StepContext, timeout: float) -> None:
    """Uncheck a checkbox; nothing happens if it is already unchecked."""
    await target.uncheck(timeout=timeout)


async def hover(action: Hover, target: Locator, step: StepContext, timeout: float) -> None:
    """Move the mouse over the element."""
    await target.hover(timeout=timeout)


async def upload_file(action: UploadFile, target: Locator, step: StepContext, timeout: float) -> None:
    """Set a file input from a local path (relative to the automation file) or a URL."""
    if action.file_path is not None:
        path = step.run.source_dir / step.text(action.file_path)
        if not path.is_file():
            raise FileNotFoundError(f"file to upload not found: {path}")
        await target.set_input_files(path, timeout=timeout)
        return
    assert action.file_url is not None
    async with page_actions.fetched_to_temp_file(step, step.text(action.file_url)) as path:
        await target.set_input_files(path, timeout=timeout)


ELEMENT_HANDLERS: Mapping[str, ElementHandler] = {
    "click_element": click_element,
    "input_text": input_text,
    "select_option": select_option,
    "check": check,
    "uncheck": uncheck,
    "hover": hover,
    "upload_file": upload_file,
}


async def run_interaction(action: InteractionAction, step: StepContext) -> None:
    """Run the one sub-action: element sub-actions with the retry loop, others once."""
    kind, sub = action.kind, action.sub_action
    if kind not in ELEMENT_HANDLERS:
        await page_actions.PAGE_HANDLERS[kind](sub, step)
        return
    assert isinstance(sub, BaseAction)
    if kind == "input_text" and _has_unknown_placeholder(step, sub):
        step.outcome.skipped = "input_text names an unknown variable (skipped, as in Optexity)"
        return
    handler = ELEMENT_HANDLERS[kind]
    timeout_ms = action.max_timeout_seconds_per_try * 1000
    last_error = "not tried"
    # File inputs are usually hidden behind a styled button: attached is enough for them.
    state: Literal["attached", "visible"] = "attached" if kind == "upload_file" else "visible"
    for attempt in range(1, action.max_tries + 1):
        step.outcome.tries = attempt
        try:
            target = step.locator(sub.command) if sub.command else step.page.locator(f"xpath={sub.xpath}")
            await target.wait_for(state=state, timeout=timeout_ms)
            await handler(sub, target, step, timeout_ms)
            return
        except (LookupError, FileNotFoundError) as exc:
            # The element was found and answered: trying again cannot change the outcome.
            last_error = first_line(exc)
            break
        except PlaywrightError as exc:
            last_error = first_line(exc)
    tries = f"after {step.outcome.tries} {'try' if step.outcome.tries == 1 else 'tries'}"
    if sub.optional:
        step.outcome.skipped = f"optional step skipped {tries}: {last_error}"
        step.outcome.optional = True
        return
    raise StepFailedError(step.index, kind, sub.target, f"{tries}: {last_error}")


def _has_unknown_placeholder(step: StepContext, action: BaseAction) -> bool:
    text = getattr(action, "input_text", None) or ""
    for placeholder in find_placeholders(text):
        try:
            step.scope.resolve(placeholder)
        except PlaceholderError:
            return True
    return False


def first_line(exc: BaseException) -> str:
    """The useful first line of a Playwright error (its call log follows on later lines)."""
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip() and "=====" not in line]
    return lines[0] if lines else type(exc).__name__
