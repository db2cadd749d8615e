"""The pause record: deadlines, first resolution wins, dialogs routed to the person."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from optexity_runner.pause import Pause, PauseCoordinator, PauseOutcome
from optexity_runner.tabs import Tabs


@pytest.fixture
async def tabs(browser: Browser) -> AsyncIterator[Tabs]:
    context = await browser.new_context()
    tabs = Tabs(context)
    await tabs.open_first()
    yield tabs
    await context.close()


def open_pause(
    coordinator: PauseCoordinator, tabs: Tabs, wait: float, run_deadline: float | None = None
) -> Pause:
    return coordinator.open(
        run_id="run-1",
        node_index="2",
        automation_name="demo",
        instructions=None,
        tabs=tabs,
        max_wait_time=wait,
        run_deadline=run_deadline,
    )


async def test_done_resolves_the_waiting_run(tabs: Tabs) -> None:
    pause = open_pause(PauseCoordinator(), tabs, 30)
    waiter = asyncio.ensure_future(pause.wait())
    await asyncio.sleep(0)
    pause.resolve(PauseOutcome.DONE)
    resolution = await asyncio.wait_for(waiter, 1)
    assert resolution.outcome is PauseOutcome.DONE
    assert not pause.is_open


async def test_first_resolution_wins(tabs: Tabs) -> None:
    pause = open_pause(PauseCoordinator(), tabs, 30)
    first = pause.resolve(PauseOutcome.DONE)
    second = pause.resolve(PauseOutcome.REJECTED, "too late")
    third = pause.resolve(PauseOutcome.TIMED_OUT)
    assert first is second is third
    assert (await pause.wait()).outcome is PauseOutcome.DONE


async def test_deadline_times_out_on_time(tabs: Tabs) -> None:
    pause = open_pause(PauseCoordinator(), tabs, 0.2)
    started = time.monotonic()
    resolution = await pause.wait()
    late = time.monotonic() - started - 0.2
    assert resolution.outcome is PauseOutcome.TIMED_OUT
    assert resolution.limit == "max_wait_time"
    assert -0.01 <= late < 0.1


async def test_run_deadline_caps_the_pause(tabs: Tabs) -> None:
    pause = open_pause(PauseCoordinator(), tabs, 300, run_deadline=time.time() + 0.1)
    resolution = await pause.wait()
    assert resolution.outcome is PauseOutcome.TIMED_OUT
    assert resolution.limit == "run_time_limit"


async def test_one_open_pause_per_run(tabs: Tabs) -> None:
    coordinator = PauseCoordinator()
    first = open_pause(coordinator, tabs, 30)
    with pytest.raises(RuntimeError, match="already has an open pause"):
        open_pause(coordinator, tabs, 30)
    first.resolve(PauseOutcome.DONE)
    second = open_pause(coordinator, tabs, 30)
    assert second.pause_id != first.pause_id
    assert coordinator.get("run-1", first.pause_id) is first


async def test_cancelled_wait_records_cancelled(tabs: Tabs) -> None:
    pause = open_pause(PauseCoordinator(), tabs, 30)
    waiter = asyncio.ensure_future(pause.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert pause.resolution is not None
    assert pause.resolution.outcome is PauseOutcome.CANCELLED


async def test_dialog_during_pause_waits_for_the_person(tabs: Tabs) -> None:
    pause = open_pause(PauseCoordinator(), tabs, 30)
    seen: list[str] = []
    pause.subscribe(seen.append)
    page = tabs.current
    await page.set_content("<p id=out></p>")
    confirm = asyncio.ensure_future(
        page.evaluate("() => { document.querySelector('#out').textContent = confirm('Sure?'); }")
    )
    for _ in range(100):
        if pause.dialogs:
            break
        await asyncio.sleep(0.01)
    (pending,) = pause.dialogs.values()
    assert pending.description["message"] == "Sure?"
    assert "dialog" in seen
    assert await pause.answer_dialog(pending.id, accept=False)
    await confirm
    assert await page.text_content("#out") == "false"
    pause.resolve(PauseOutcome.DONE)
    await pause.release()
    assert tabs.interceptor is None


async def test_dialog_outside_a_pause_follows_the_automation(tabs: Tabs) -> None:
    page = tabs.current
    await page.set_content("<p id=out></p>")
    await page.evaluate("() => { document.querySelector('#out').textContent = confirm('Sure?'); }")
    assert await page.text_content("#out") == "true"
