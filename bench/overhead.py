"""Figure 1: interpreter overhead. The same 50-step flow through the runner and as a script.

The flow signs in to the demo site, opens the claim form and works through it again and again
(select, fill, check, hover, uncheck, click, navigate). It exists twice below, once as
automation JSON (``flow_automation``) and once as the Playwright calls a person would write
(``flow_script``); keep the two in step. Both run in one shared, warm browser, a fresh context
each, from ``new_context`` to ``context.close``; the runner's time also covers its run folder
(events, ``result.json``). Runs alternate runner / script so drift (CPU frequency, caches,
another process) hits both alike, and the figure is the median of the per-pair ratios.

``end_sleep_time`` is 0 in the automation. Its default (5 s) is not a sleep: after the action
the runner waits for the tab's ``load`` state, at most that long, which returns at once on a
page that has loaded; only a navigation still in flight makes it wait.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import time
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Browser, Page

from bench.common import chromium, demo_site, median, run_folder, run_request, settings_for
from bench.report import Figure
from optexity_runner.runner import run_automation
from optexity_runner.settings import RunnerSettings

TARGET_RATIO = 1.05
STEPS = 50
PASSWORD = "correct horse battery"


def _node(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    # One try of up to 30 s, as the script's calls have (Playwright's default timeout): on a
    # loaded machine a 1 s try can time out after its click landed, and the retry would
    # then look for an element the click has navigated away from.
    interaction = {kind: body, "max_tries": 1, "max_timeout_seconds_per_try": 30}
    return {"type": "action_node", "interaction_action": interaction, "end_sleep_time": 0}


def _form_round(n: int, base_url: str) -> list[dict[str, Any]]:
    confirm = 'get_by_label("I confirm the information is accurate")'
    select = {"command": 'get_by_label("Claim type")', "select_values": ["home"]}
    return [
        _node("select_option", select),
        _node("input_text", {"command": 'get_by_label("Policy number")', "input_text": f"POL-{n}"}),
        _node("check", {"command": 'get_by_label("Urgent")'}),
        _node("input_text", {"command": 'get_by_label("Description")', "input_text": f"Leak {n}"}),
        _node("check", {"command": confirm}),
        _node("hover", {"command": 'get_by_role("button", name="Submit claim")'}),
        _node("uncheck", {"command": confirm}),
        _node("click_element", {"command": 'get_by_label("Normal")'}),
        _node("input_text", {"command": 'get_by_label("Policy number")', "input_text": f"P-{n}"}),
        _node("go_to_url", {"url": f"{base_url}/claims/new"}),
    ]


def flow_automation(base_url: str, steps: int = STEPS) -> dict[str, Any]:
    """The flow as automation JSON: sign in, open the form, then rounds over the form."""
    nodes = [
        _node("input_text", {"command": 'get_by_label("Username")', "input_text": "alice"}),
        _node("input_text", {"command": 'get_by_label("Password")', "input_text": PASSWORD}),
        _node("click_element", {"command": 'get_by_role("button", name="Sign in")'}),
        _node("click_element", {"command": 'get_by_role("link", name="New claim")'}),
    ]
    n = 0
    while len(nodes) < steps:
        nodes += _form_round(n, base_url)
        n += 1
    return {
        "automation_description": "bench: 50-step claim form flow",
        "url": f"{base_url}/login",
        "parameters": {"input_parameters": {}},
        "nodes": nodes[:steps],
        "take_final_screenshot": False,
    }


Call = Callable[[], Awaitable[Any]]


def _sign_in_calls(page: Page) -> list[Call]:
    return [
        lambda: page.get_by_label("Username").fill("alice"),
        lambda: page.get_by_label("Password").fill(PASSWORD),
        lambda: page.get_by_role("button", name="Sign in").click(),
        lambda: page.get_by_role("link", name="New claim").click(),
    ]


def _form_round_calls(page: Page, n: int, base_url: str) -> list[Call]:
    confirm = page.get_by_label("I confirm the information is accurate")
    return [
        lambda: page.get_by_label("Claim type").select_option("home"),
        lambda: page.get_by_label("Policy number").fill(f"POL-{n}"),
        lambda: page.get_by_label("Urgent").check(),
        lambda: page.get_by_label("Description").fill(f"Leak {n}"),
        lambda: confirm.check(),
        lambda: page.get_by_role("button", name="Submit claim").hover(),
        lambda: confirm.uncheck(),
        lambda: page.get_by_label("Normal").click(),
        lambda: page.get_by_label("Policy number").fill(f"P-{n}"),
        lambda: page.goto(f"{base_url}/claims/new"),
    ]


async def flow_script(page: Page, base_url: str, steps: int = STEPS) -> None:
    """The same flow, hand-written with Playwright."""
    await page.goto(f"{base_url}/login")
    calls = _sign_in_calls(page)
    n = 0
    while len(calls) < steps:
        calls += _form_round_calls(page, n, base_url)
        n += 1
    for call in calls[:steps]:
        await call()


async def time_runner(browser: Browser, data: dict[str, Any], settings: RunnerSettings) -> float:
    t0 = time.perf_counter()
    result = await run_automation(run_request(data, settings), browser)
    elapsed = time.perf_counter() - t0
    if result.status != "success":
        raise RuntimeError(f"the runner's flow failed: {result.error}")
    return elapsed


async def time_script(browser: Browser, base_url: str, steps: int) -> float:
    t0 = time.perf_counter()
    context = await browser.new_context(
        accept_downloads=True, viewport={"width": 1280, "height": 720}
    )
    page = await context.new_page()
    await flow_script(page, base_url, steps)
    await context.close()
    return time.perf_counter() - t0


async def profile_runner(
    browser: Browser, data: dict[str, Any], settings: Any, top: int = 12
) -> str:
    """cProfile of one runner run: where the Python side spends its time (cumulative)."""
    profiler = cProfile.Profile()
    profiler.enable()
    await run_automation(run_request(data, settings), browser)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


async def measure(quick: bool = False) -> Figure:
    pairs, steps = (2, 10) if quick else (9, STEPS)
    figure = Figure(1, f"Interpreter overhead: a {steps}-step flow, runner vs Playwright script")
    with demo_site() as base_url, run_folder() as out:
        settings = settings_for(out)
        data = flow_automation(base_url, steps)
        async with chromium() as (_, browser):
            # Warm both paths: the browser's caches, Playwright's injected script, our imports.
            await time_runner(browser, data, settings)
            await time_script(browser, base_url, steps)
            runner_s: list[float] = []
            script_s: list[float] = []
            for i in range(pairs):
                # Alternate which goes first so neither always runs on a just-warmed browser.
                if i % 2 == 0:
                    runner_s.append(await time_runner(browser, data, settings))
                    script_s.append(await time_script(browser, base_url, steps))
                else:
                    script_s.append(await time_script(browser, base_url, steps))
                    runner_s.append(await time_runner(browser, data, settings))
            ratios = [r / s for r, s in zip(runner_s, script_s, strict=True)]
            ratio = median(ratios)
            if ratio > TARGET_RATIO and not quick:
                figure.notes.append(
                    "profile of one runner run (cProfile, top by own time):\n\n```\n"
                    + (await profile_runner(browser, data, settings)).strip()
                    + "\n```"
                )
    per_step_ms = (median(runner_s) - median(script_s)) / steps * 1000
    figure.add("Playwright script, median", f"{median(script_s) * 1000:.0f} ms")
    figure.add("runner, median", f"{median(runner_s) * 1000:.0f} ms")
    figure.add("runner - script, per step", f"{per_step_ms:.2f} ms")
    figure.add(
        f"runner / script (median of {pairs} interleaved pairs)",
        f"{ratio:.3f}",
        f"<= {TARGET_RATIO}",
        ratio <= TARGET_RATIO,
    )
    figure.add("ratio range", f"{min(ratios):.3f} - {max(ratios):.3f}")
    figure.notes.append(
        "Both sides: new context + page, navigate, the steps, close; the runner also writes its "
        "run folder. end_sleep_time is 0: its default 5 s is a wait for the tab's load state "
        "(at most 5 s), not a sleep, and costs one round trip on a loaded page."
    )
    return figure


if __name__ == "__main__":
    from bench.report import console_text

    print(console_text(asyncio.run(measure())))
