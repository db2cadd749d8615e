"""Running one automation end to end: attempts, time limit, record.

``run_automation`` is what the CLI and the benchmarks call. It owns the run folder and the
result; each attempt gets a fresh browser context, fresh variables and an ``Interpreter``.
Whatever happens, ``result.json`` is written.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from playwright.async_api import Browser, BrowserContext
from playwright.async_api import Error as PlaywrightError

from optexity_runner.actions.page_actions import NAVIGATION_TIMEOUT_MS
from optexity_runner.context import HumanLoop, ModelProvider, RunContext, RunState
from optexity_runner.errors import (
    ExitCode,
    ExpectedDownloadsError,
    HumanInLoopTimeoutException,
    OptexityError,
    RunEndingError,
    RunError,
    RunTimeLimitExceeded,
    StartUrlError,
    StepFailedError,
)
from optexity_runner.failures import first_line
from optexity_runner.interpreter import Interpreter
from optexity_runner.placeholders import substitute
from optexity_runner.result import AttemptRecord, ErrorRecord, RunResult, RunStatus, utc_now
from optexity_runner.run_store import EventListener, RunStore, new_run_id
from optexity_runner.settings import RunnerSettings
from optexity_runner.tabs import Tabs
from optexity_runner.urls import checked_url
from optexity_runner.variables import Redactor, Scope, Variables
from schemas import Automation

#: The pause's own deadline fires first when the run limit caps it; the run-wide timeout waits
#: this much longer so the pause can record its outcome (HITL.md: "the result says which limit").
TIME_LIMIT_GRACE = 0.25

#: Seconds allowed for saving the trace and closing an attempt's browser context.
CLOSE_TIMEOUT = 30.0


AttemptOutcome = tuple[RunStatus, ErrorRecord | None, str | None, str | None, bool]
"""Status, error, final screenshot, trace, and whether another attempt follows."""


class HumanLoopFactory(Protocol):
    """Builds the pause service for one run (the CLI wires mail and the live view)."""

    def __call__(self, run_id: str, name: str, store: RunStore) -> HumanLoop: ...


@dataclass
class RunRequest:
    """What to run and how."""

    automation: Automation
    name: str
    source_dir: Path
    settings: RunnerSettings
    overrides: Mapping[str, list[str]] = field(default_factory=dict)
    hitl: HumanLoopFactory | None = None
    providers: dict[str, ModelProvider] = field(default_factory=dict)
    listeners: list[EventListener] = field(default_factory=list)
    run_id: str | None = None


async def run_automation(request: RunRequest, browser: Browser) -> RunResult:
    """Run ``request`` in ``browser`` (a new context per attempt); never raises for a failed run."""
    automation, settings = request.automation, request.settings
    run_id = request.run_id or new_run_id()
    redactor = Redactor()
    store = RunStore(settings.out_dir, run_id, redactor)
    for listener in request.listeners:
        store.subscribe(listener)
    hitl = request.hitl(run_id, request.name, store) if request.hitl else None
    warnings = automation.unhonoured_field_warnings()
    started, t0 = utc_now(), time.perf_counter()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.run_time_limit
    store.emit(
        "run_started",
        run_id=run_id,
        automation=request.name,
        description=automation.automation_description,
        nodes=len(automation.nodes),
        run_dir=str(store.dir),
    )
    for warning in warnings:
        store.emit("warning", message=warning)

    state = RunState()
    attempts: list[AttemptRecord] = []
    outcome: AttemptOutcome = ("failed", None, None, None, False)
    final_screenshot: str | None = None
    trace: str | None = None

    def finish(status: RunStatus, error: ErrorRecord | None) -> RunResult:
        result = RunResult(
            run_id=run_id,
            automation=request.name,
            automation_description=automation.automation_description,
            automation_endpoint=automation.automation_endpoint,
            status=status,
            started_at=started,
            finished_at=utc_now(),
            duration_s=round(time.perf_counter() - t0, 3),
            error=error,
            attempts=attempts,
            nodes=state.nodes,
            pauses=state.pauses,
            outputs=state.outputs,
            downloads=state.downloads,
            final_screenshot=final_screenshot,
            trace=trace,
            warnings=warnings,
            run_dir=str(store.dir),
        )
        result = store.write_result(result)
        store.emit(
            "run_finished",
            status=status,
            duration_s=result.duration_s,
            error=error.message if error else None,
        )
        store.close()
        return result

    try:
        for attempt in range(1, automation.max_retries + 2):
            if attempt > 1:
                backoff = retry_backoff(settings, attempt)
                store.emit("attempt_retrying", attempt=attempt, backoff_s=backoff)
                await asyncio.sleep(backoff)
            # Outputs describe the last attempt; node records keep every attempt (``attempt``).
            state.outputs.clear()
            state.looped_outputs.clear()
            state.current_node = None
            attempt_started, attempt_t0 = utc_now(), time.perf_counter()
            store.emit("attempt_started", attempt=attempt)
            outcome = await _run_attempt(
                request, browser, store, redactor, hitl, state, attempt, deadline
            )
            status, error, shot, attempt_trace, retrying = outcome
            final_screenshot = shot or final_screenshot
            trace = attempt_trace or trace
            attempts.append(
                AttemptRecord(
                    attempt=attempt,
                    status=status,
                    started_at=attempt_started,
                    duration_s=round(time.perf_counter() - attempt_t0, 3),
                    error=error,
                )
            )
            if not retrying:
                break
    except asyncio.CancelledError:
        # Ctrl+C or SIGTERM: the record is still written before the cancellation goes on.
        where = f" at node {state.current_node}" if state.current_node else ""
        interrupted = ErrorRecord(
            type="RunInterrupted",
            message=f"the run was interrupted{where} (Ctrl+C or SIGTERM)",
            node_index=state.current_node,
            exit_code=ExitCode.INTERRUPTED,
        )
        finish("failed", interrupted)
        raise
    return finish(outcome[0], outcome[1])


def retry_backoff(settings: RunnerSettings, attempt: int) -> float:
    """Seconds to wait before ``attempt`` (2, 3...): the backoff setting, doubled each time."""
    return float(settings.retry_backoff * 2 ** (attempt - 2))


def _will_retry(
    failure: OptexityError | None,
    attempt: int,
    settings: RunnerSettings,
    max_retries: int,
    deadline: float,
) -> bool:
    if failure is None or isinstance(failure, RunEndingError) or attempt > max_retries:
        return False
    # A retry that could only start after the deadline would hide the real error.
    next_start = asyncio.get_running_loop().time() + retry_backoff(settings, attempt + 1)
    return next_start < deadline


async def _run_attempt(
    request: RunRequest,
    browser: Browser,
    store: RunStore,
    redactor: Redactor,
    hitl: HumanLoop | None,
    state: RunState,
    attempt: int,
    deadline: float,
) -> AttemptOutcome:
    settings, automation = request.settings, request.automation
    context = await browser.new_context(
        accept_downloads=True,
        viewport={"width": settings.viewport_width, "height": settings.viewport_height},
    )
    if settings.trace:
        await context.tracing.start(screenshots=True, snapshots=True)
    tabs = Tabs(context)
    variables = Variables(automation.parameters, request.overrides, redactor)
    run = RunContext(
        run_id=store.run_id,
        name=request.name,
        automation=automation,
        settings=settings,
        store=store,
        variables=variables,
        tabs=tabs,
        state=state,
        source_dir=request.source_dir,
        hitl=hitl,
        providers=request.providers,
        deadline=deadline,
        attempt=attempt,
    )
    interpreter = Interpreter(run)
    scope = Scope(variables, lambda: tabs.current)
    failure: OptexityError | None = None
    downloads_before = len(state.downloads)
    try:
        async with asyncio.timeout_at(deadline + TIME_LIMIT_GRACE) as limit:
            page = await tabs.open_first()
            start_url = checked_url("about:blank", substitute(automation.url, scope))
            try:
                await page.goto(start_url, timeout=NAVIGATION_TIMEOUT_MS)
            except PlaywrightError as exc:
                raise StartUrlError(
                    f"could not open the start URL {start_url}: {first_line(exc)} "
                    "(is the site up and reachable from this machine?)"
                ) from exc
            store.emit("navigated", url=page.url)
            await interpreter.run_nodes(automation.nodes, "", scope)
            downloaded = len(state.downloads) - downloads_before
            if downloaded < automation.expected_downloads:
                raise ExpectedDownloadsError(
                    f"expected {automation.expected_downloads} download(s), got {downloaded}"
                )
    except TimeoutError as exc:
        if not limit.expired():
            raise
        failure = RunTimeLimitExceeded(
            f"the run exceeded its time limit of {settings.run_time_limit:g} s"
        )
        failure.__cause__ = exc
        failure.node_index = state.current_node
    except OptexityError as exc:
        failure = exc
    except PlaywrightError as exc:
        failure = RunError(first_line(exc))
        failure.__cause__ = exc

    status: RunStatus = "success"
    error: ErrorRecord | None = None
    screenshot: str | None = None
    # Post-processing runs once per run: after the attempt that ends it, not before a retry.
    retrying = _will_retry(failure, attempt, settings, automation.max_retries, deadline)
    try:
        if failure is not None:
            # The failure screenshot first: post-processing may change the page.
            status = "timed_out" if isinstance(failure, RunTimeLimitExceeded) else "failed"
            error = await _error_record(failure, tabs, store, attempt)
        if automation.post_processing_nodes and retrying:
            store.emit("post_processing_deferred", attempt=attempt)
        elif automation.post_processing_nodes:
            await _post_process(interpreter, automation, scope, store, deadline)
        if failure is None and automation.take_final_screenshot:
            screenshot = await _screenshot(tabs, store, "final.png", full_page=True)
    finally:
        trace = await _close(context, settings.trace, store, attempt)
    return status, error, screenshot, trace, retrying


async def _post_process(
    interpreter: Interpreter, automation: Automation, scope: Scope, store: RunStore, deadline: float
) -> None:
    # Best effort, also after a failure, within what is left of the run's time: its own
    # failure is recorded as an event and never replaces the run's first error.
    if asyncio.get_running_loop().time() >= deadline:
        store.emit("post_processing_skipped", reason="the run's time limit has passed")
        return
    try:
        async with asyncio.timeout_at(deadline):
            await interpreter.run_nodes(automation.post_processing_nodes, "post.", scope)
    except TimeoutError:
        store.emit("post_processing_failed", error="the run's time limit passed")
    except (OptexityError, PlaywrightError) as exc:
        store.emit("post_processing_failed", error=str(exc))


async def _error_record(
    exc: OptexityError, tabs: Tabs, store: RunStore, attempt: int
) -> ErrorRecord:
    name = "failure.png" if attempt == 1 else f"failure-attempt{attempt}.png"
    shot = await _screenshot(tabs, store, name, full_page=False)
    record = ErrorRecord(
        type=exc.kind,
        message=str(exc),
        exit_code=exc.exit_code,
        node_index=exc.node_index,
        screenshot=shot,
    )
    if isinstance(exc, StepFailedError):
        record.command = exc.command
    if isinstance(exc, HumanInLoopTimeoutException):
        record.limit = exc.limit
    if isinstance(exc, RunTimeLimitExceeded):
        record.limit = "run_time_limit"
    store.emit(
        "run_failed",
        type=record.type,
        message=record.message,
        node_index=record.node_index,
        screenshot=shot,
    )
    return record


async def _screenshot(tabs: Tabs, store: RunStore, name: str, full_page: bool) -> str | None:
    try:
        page = tabs.current
        await page.screenshot(path=store.path(name), full_page=full_page, timeout=10_000)
    except (PlaywrightError, RuntimeError) as exc:
        store.emit("screenshot_failed", name=name, error=first_line(exc))
        return None
    return name


async def _close(
    context: BrowserContext, tracing: bool, store: RunStore, attempt: int
) -> str | None:
    trace: str | None = None
    try:
        # Bounded: a wedged browser must not keep a finished run from writing its result.
        async with asyncio.timeout(CLOSE_TIMEOUT):
            if tracing:
                trace = "trace.zip" if attempt == 1 else f"trace-attempt{attempt}.zip"
                await context.tracing.stop(path=store.path(trace))
                store.redact_archive(trace)
            await context.close()
    except (PlaywrightError, TimeoutError) as exc:
        store.emit("context_close_failed", error=first_line(exc))
    return trace
