"""Figure 2: resume latency, and how late a pause's deadline fires.

Resume: one run pauses again and again (``human_in_loop_action``, then a ``go_to_url``, ...).
For each pause the viewer process opens the pause as the page does (``GET /api/pause``),
then sends a real ``POST /api/pause/done`` through the real ``LiveViewServer`` and notes when
the request left. Two ends are timed: when the interpreter starts the next node (its
``node_started`` event, seen by a run listener) and when the browser's request for the next
node's page reaches the viewer's server: the next node's first browser command, as carried
out by the browser. All on ``time.monotonic()``, one clock across processes.

Deadline: short pauses (``max_wait_time`` 0.3 s) that nobody answers. Lateness is from the
pause's deadline to the ``hitl_resolved`` event recorded just before
``HumanInLoopTimeoutException`` is raised.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from playwright.async_api import Browser

from bench.common import chromium, median, percentile, run_folder, run_request, settings_for
from bench.live_rig import LiveRig, ViewerProcess
from bench.report import Figure
from optexity_runner.runner import run_automation
from optexity_runner.settings import RunnerSettings

TARGET_P50_MS = 20.0
TARGET_P95_MS = 50.0
TARGET_LATE_MS = 50.0
POLL_INTERVAL_S = 2.0
DEADLINE_WAIT_S = 0.3
#: The viewer reads the pause, then a person takes a moment: Done is sent this much later.
DONE_DELAY_S = 0.05


def _pause_node(max_wait_time: float) -> dict[str, Any]:
    return {
        "type": "action_node",
        "human_in_loop_action": {"max_wait_time": max_wait_time},
        "end_sleep_time": 0,
    }


def _goto_node(url: str) -> dict[str, Any]:
    return {
        "type": "action_node",
        "interaction_action": {"go_to_url": {"url": url}},
        "end_sleep_time": 0,
    }


def resume_automation(page_base: str, pauses: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    for i in range(pauses):
        nodes += [_pause_node(60), _goto_node(f"{page_base}/next/{i}")]
    return {
        "automation_description": "bench: pause and resume",
        "url": f"{page_base}/next/start",
        "parameters": {"input_parameters": {}},
        "nodes": nodes,
        "take_final_screenshot": False,
    }


async def measure_resume(
    rig: LiveRig,
    viewer: ViewerProcess,
    browser: Browser,
    settings: RunnerSettings,
    page_base: str,
    pauses: int,
) -> tuple[list[float], list[float]]:
    """Per pause: seconds from Done sent to (next node started, next page requested)."""
    started: dict[str, float] = {}

    def on_event(record: dict[str, Any]) -> None:
        if record["event"] == "node_started":
            started[record["node_index"]] = time.monotonic()

    request = run_request(
        resume_automation(page_base, pauses), settings, hitl=rig.hitl, listeners=[on_event]
    )
    run = asyncio.create_task(run_automation(request, browser))
    sent: list[float] = []
    for _ in range(pauses):
        _, token = await rig.next_pause()
        answer = await viewer.call("done", base=rig.base_url, token=token, delay=DONE_DELAY_S)
        if answer["status"] != 200:
            raise RuntimeError(f"Done was answered {answer['status']}")
        sent.append(answer["sent"])
    result = await run
    if result.status != "success":
        raise RuntimeError(f"the resume run failed: {result.error}")
    arrivals = (await viewer.call("arrivals"))["arrivals"]
    to_node = [started[str(2 * i + 1)] - sent[i] for i in range(pauses)]
    to_browser = [arrivals[f"/next/{i}"] - sent[i] for i in range(pauses)]
    return to_node, to_browser


async def measure_deadline(
    rig: LiveRig, browser: Any, settings: Any, page: str, runs: int
) -> list[float]:
    """Seconds from each pause's deadline to its timeout being recorded and raised."""
    late: list[float] = []
    for _ in range(runs):
        resolved: list[float] = []

        def on_event(record: dict[str, Any], resolved: list[float] = resolved) -> None:
            if record["event"] == "hitl_resolved":
                resolved.append(time.time())

        data = {
            "url": page,
            "parameters": {"input_parameters": {}},
            "nodes": [_pause_node(DEADLINE_WAIT_S)],
            "take_final_screenshot": False,
        }
        request = run_request(data, settings, hitl=rig.hitl, listeners=[on_event])
        run = asyncio.create_task(run_automation(request, browser))
        pause, _ = await rig.next_pause()
        result = await run
        if result.error is None or result.error.type != "HumanInLoopTimeoutException":
            raise RuntimeError(f"expected a HITL timeout, got {result.status}: {result.error}")
        late.append(resolved[0] - pause.deadline)
    return late


async def measure(quick: bool = False) -> Figure:
    pauses, runs = (2, 1) if quick else (30, 10)
    figure = Figure(2, "Resume latency: Done in the viewer to the next node's first command")
    viewer = await ViewerProcess.start()
    try:
        port = (await viewer.call("serve"))["port"]
        page_base = f"http://127.0.0.1:{port}"
        with run_folder() as out:
            settings = settings_for(out)
            async with chromium() as (_, browser), LiveRig(settings) as rig:
                to_node, to_browser = await measure_resume(
                    rig, viewer, browser, settings, page_base, pauses
                )
                late = await measure_deadline(
                    rig, browser, settings, f"{page_base}/next/deadline", runs
                )
    finally:
        await viewer.close()
    ms = 1000.0
    p50, p95 = percentile(to_browser, 50) * ms, percentile(to_browser, 95) * ms
    figure.add(
        f"Done -> next node's navigation reaches the server, p50 ({pauses} pauses)",
        f"{p50:.1f} ms",
        f"<= {TARGET_P50_MS:.0f} ms",
        p50 <= TARGET_P50_MS,
    )
    figure.add("same, p95", f"{p95:.1f} ms", f"<= {TARGET_P95_MS:.0f} ms", p95 <= TARGET_P95_MS)
    figure.add(
        "Done -> interpreter starts the next node, p50 / p95",
        f"{percentile(to_node, 50) * ms:.1f} / {percentile(to_node, 95) * ms:.1f} ms",
    )
    poll = POLL_INTERVAL_S / 2 * ms
    figure.add(
        f"Optexity's {POLL_INTERVAL_S:g} s polling, mean wait (baseline)",
        f"~{poll:.0f} ms ({poll / p50:.0f}x the p50 here)",
    )
    worst = max(late) * ms
    figure.add(
        f"deadline lateness, median / max ({runs} pauses of {DEADLINE_WAIT_S:g} s)",
        f"{median(late) * ms:.1f} / {worst:.1f} ms",
        f"<= {TARGET_LATE_MS:.0f} ms",
        worst <= TARGET_LATE_MS,
    )
    figure.notes.append(
        "Done is a real HTTP POST from a separate viewer process through the real live view "
        "server, on a connection the viewer opened when it read the pause. The browser-side "
        "end is the next node's page request arriving at the viewer's server (the command "
        "carried out by Chromium), so the figure includes the browser starting a navigation."
    )
    return figure
