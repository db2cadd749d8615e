"""``interaction_action``: the retry loop and one handler per sub-action.

Element sub-actions are retried: each try waits up to ``max_timeout_seconds_per_try`` for
the element to be visible, then acts. Page-level sub-actions (navigation, tabs, keys) run
once: retrying a navigation would repeat its side effects.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator

from optexity_runner.actions import page_actions
from optexity_runner.actions.downloads import (
    DownloadNotStartedError,
    capture_download,
    fetch_upload,
)
from optexity_runner.actions.select_options import options_from_html
from optexity_runner.context import StepContext
from optexity_runner.errors import StepFailedError, UploadNotAllowedError
from optexity_runner.failures import describe_failure, first_line
from optexity_runner.placeholders import find_placeholders
from optexity_runner.urls import checked_url
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


async def click_element(
    action: ClickElement, target: Locator, step: StepContext, timeout: float
) -> None:
    """Click once (twice for ``double_click``); with ``mouse_click`` at the centre + deviation."""
    clicks = 2 if action.double_click else 1

    async def click() -> None:
        if action.mouse_click:
            # The box is in viewport coordinates: an element below the fold must be scrolled
            # into view first, or the mouse lands on whatever is at those coordinates.
            await target.scroll_into_view_if_needed(timeout=timeout)
            box = await target.bounding_box(timeout=timeout)
            if box is None:
                raise StepFailedError(
                    step.index, "click_element", action.command, "element has no box"
                )
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
    """Fill, type or key-press the text exactly as given (quotes kept).

    For ``type`` and ``key_press`` the per-try timeout covers focusing the field, not the
    typing: a long text would otherwise be cut off and typed again by the next try.
    """
    text = step.text(action.input_text or "")
    if action.fill_or_type == "fill":
        await target.fill(text, timeout=timeout)
    else:
        await target.focus(timeout=timeout)
        await step.page.keyboard.type(text)
    if action.press_enter:
        await target.press("Enter", timeout=timeout)


async def select_option(
    action: SelectOption, target: Locator, step: StepContext, timeout: float
) -> None:
    """Select by value, then label, then case-insensitive label, then regex."""
    # Read from the HTML, not with evaluate: see ``select_options`` (~20 ms per new document).
    options = options_from_html(await target.inner_html(timeout=timeout))
    # By index: Playwright's own ``value=`` also matches labels, so an option whose label
    # equals another option's value would be picked instead of the one the value names.
    wanted = [match_option(step.text(v), options) for v in action.select_values]

    async def select() -> None:
        await target.select_option(index=wanted, timeout=timeout)

    if action.expect_download:
        await capture_download(step, select, action.download_filename, None)
    else:
        await select()


def match_option(requested: str, options: list[dict[str, str]]) -> int:
    """The index of the option ``requested`` names; ``LookupError`` listing the options."""
    for index, option in enumerate(options):
        if option["value"] == requested:
            return index
    for index, option in enumerate(options):
        if option["label"] == requested:
            return index
    for index, option in enumerate(options):
        if option["label"].casefold() == requested.casefold():
            return index
    try:
        pattern = re.compile(requested)
    except re.error:
        pattern = None
    if pattern is not None:
        for index, option in enumerate(options):
            if pattern.fullmatch(option["label"]) or pattern.fullmatch(option["value"]):
                return index
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


async def upload_file(
    action: UploadFile, target: Locator, step: StepContext, timeout: float
) -> None:
    """Set a file input from a local file or a URL.

    ``file_path`` is relative to the automation file's folder and must stay inside it or inside
    a folder allowed with ``--upload-dir``: a shared automation must not be able to send
    ``~/.ssh/id_rsa`` to a web site.
    """
    if action.file_path is not None:
        path = uploadable_path(step, step.text(action.file_path))
        await target.set_input_files(path, timeout=timeout)
        return
    assert action.file_url is not None
    url = checked_url(step.page.url, step.text(action.file_url))
    await target.set_input_files(await fetch_upload(step, url), timeout=timeout)


def uploadable_path(step: StepContext, file_path: str) -> Path:
    """The resolved file, if it lies in an allowed folder; ``UploadNotAllowedError`` if not."""
    path = (step.run.source_dir / file_path).resolve()
    allowed = [step.run.source_dir, *step.run.settings.upload_dirs]
    if not any(path.is_relative_to(folder.resolve()) for folder in allowed):
        folders = ", ".join(str(folder) for folder in allowed)
        raise UploadNotAllowedError(
            f"{file_path!r} is outside the folders files may be uploaded from ({folders}); "
            "allow its folder with --upload-dir"
        )
    if not path.is_file():
        raise FileNotFoundError(f"file to upload not found: {path}")
    return path


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
    if isinstance(sub, InputText) and _has_unknown_placeholder(step, sub):
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
            target = (
                step.locator(sub.command)
                if sub.command
                else step.page.locator(f"xpath={sub.xpath}")
            )
            if not _acts_only_when_visible(kind, sub):
                await target.wait_for(state=state, timeout=timeout_ms)
            await handler(sub, target, step, timeout_ms)
            return
        except (LookupError, FileNotFoundError, DownloadNotStartedError) as exc:
            # The element was found and answered (or was already clicked): trying again
            # cannot change the outcome, or would repeat the click.
            last_error = first_line(exc)
            break
        except PlaywrightError as exc:
            last_error = describe_failure(exc, kind, sub.target, state, timeout_ms / 1000)
    tries = step.outcome.tries
    cause = f"{last_error} ({tries} {'try' if tries == 1 else 'tries'})"
    if sub.optional:
        step.outcome.skipped = f"optional step skipped: {cause}"
        step.outcome.optional = True
        return
    raise StepFailedError(step.index, kind, sub.target, cause)


def _acts_only_when_visible(kind: str, sub: BaseAction) -> bool:
    """Whether the handler's Playwright call itself waits for a visible element.

    Then a ``wait_for`` first only adds a round trip per step (bench, figure 1): Playwright's
    click, fill, check, uncheck and hover wait for the element to be visible (and enabled,
    stable) within the same timeout. A mouse click reads a bounding box and typing focuses:
    neither waits for visibility, so those keep the explicit wait.
    """
    if isinstance(sub, ClickElement):
        return not sub.mouse_click
    if isinstance(sub, InputText):
        return sub.fill_or_type == "fill"
    return kind in ("check", "uncheck", "hover")


def _has_unknown_placeholder(step: StepContext, action: InputText) -> bool:
    """Whether ``input_text`` names a variable (or index) that does not exist.

    Only that case is Optexity's silent skip. Other placeholder errors, such as a secure
    value whose environment variable is unset, fail the step when the text is substituted.
    """
    for placeholder in find_placeholders(action.input_text or ""):
        if placeholder.kind != "value":
            continue
        count = step.scope.variables.count(placeholder.name)
        if count is None:
            return True
        index = placeholder.index
        if isinstance(index, str):
            index = step.scope.index_value(index)
        if index is not None and not 0 <= index < count:
            return True
    return False
