"""Figure 3: the live view. Frame rate, frame size, input-to-pixel latency, CPU.

A run pauses on a page; the person is ``bench/viewer.py`` in its own process, joining over
the real websocket of the real ``LiveViewServer`` with a 1280x720 viewport and default
settings (JPEG quality 60, at most 25 fps).

- Frame rate and size: the demo site's ``/animated`` page (a full-viewport canvas animation);
  frames counted as the viewer receives them.
- Input to pixel: the viewer's ``/toggle`` page, where each click shows or hides a striped
  200x200 box. Per click the viewer sends mouse down + up and times until a frame
  of the other state arrives (its JPEG is several times larger or smaller; the page is
  otherwise static, so Chromium sends no frame without a change). Decoding and painting the
  JPEG in a browser would add a few ms; they are not in the figure.
- The floor: the same clicks with CDP ``Input.dispatchMouseEvent`` and the same screencast,
  straight from this process to the page (no server, no websocket, no viewer).
- CPU: of this process, Playwright's driver and Chromium (``runner_processes``), from
  ``/proc/<pid>/stat``; the demo site and the viewer run in processes of their own.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

from playwright.async_api import Browser, CDPSession

from bench.common import (
    CpuMeter,
    chromium,
    demo_site,
    median,
    percentile,
    run_folder,
    run_request,
    settings_for,
)
from bench.live_rig import LiveRig, ViewerProcess
from bench.report import Figure
from optexity_runner.pause import Pause, PauseOutcome
from optexity_runner.result import RunResult
from optexity_runner.runner import run_automation
from optexity_runner.settings import RunnerSettings

TARGET_FPS = 25.0
TARGET_CLICK_P50_MS = 40.0
TARGET_IDLE_CPU = 2.0
WIDTH, HEIGHT = 1280, 720
SIZE_FLIP = 2.0
CLICK_AT = (640.0, 360.0)


async def cpu_during(seconds: float) -> float:
    """Percent of one core the runner uses over the next ``seconds``."""
    meter = CpuMeter()
    meter.start()
    await asyncio.sleep(seconds)
    return meter.stop()


async def cdp_floor(browser: Browser, url: str, clicks: int, quality: int) -> list[float]:
    """Click-to-frame latencies with raw CDP input and screencast, no live view in between."""
    context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = await context.new_page()
    await page.goto(url)
    cdp: CDPSession = await context.new_cdp_session(page)
    frames: asyncio.Queue[tuple[float, int]] = asyncio.Queue()
    acks: set[asyncio.Task[Any]] = set()

    def on_frame(params: dict[str, Any]) -> None:
        frames.put_nowait((time.monotonic(), len(base64.b64decode(params["data"]))))
        ack = asyncio.ensure_future(
            cdp.send("Page.screencastFrameAck", {"sessionId": params["sessionId"]})
        )
        acks.add(ack)
        ack.add_done_callback(acks.discard)

    cdp.on("Page.screencastFrame", on_frame)
    screencast = {"format": "jpeg", "quality": quality, "maxWidth": WIDTH, "maxHeight": HEIGHT}
    await cdp.send("Page.startScreencast", screencast)
    _, last = await asyncio.wait_for(frames.get(), 10)
    latencies = []
    x, y = CLICK_AT
    for _ in range(clicks):
        await asyncio.sleep(0.15)
        while not frames.empty():
            _, last = frames.get_nowait()
        sent = time.monotonic()
        for kind, buttons in (("mousePressed", 1), ("mouseReleased", 0)):
            await cdp.send(
                "Input.dispatchMouseEvent",
                {
                    "type": kind,
                    "x": x,
                    "y": y,
                    "button": "left",
                    "buttons": buttons,
                    "clickCount": 1,
                },
            )
        while True:
            arrived, size = await asyncio.wait_for(frames.get(), 10)
            if size > last * SIZE_FLIP or size * SIZE_FLIP < last:
                latencies.append(arrived - sent)
                last = size
                break
    await cdp.send("Page.stopScreencast")
    await context.close()
    return latencies


async def page_alone_cpu(browser: Browser, url: str, seconds: float) -> float:
    """CPU with ``url`` open in a plain context: the page's own cost, no run, no live view."""
    context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = await context.new_page()
    await page.goto(url)
    await asyncio.sleep(0.5)
    cpu = await cpu_during(seconds)
    await context.close()
    return cpu


class PausedRun:
    """A run paused at its only node, on ``url``, until ``finish``."""

    def __init__(self, rig: LiveRig, browser: Browser, settings: RunnerSettings, url: str) -> None:
        data = {
            "url": url,
            "parameters": {"input_parameters": {}},
            "nodes": [
                {
                    "type": "action_node",
                    "human_in_loop_action": {"max_wait_time": 300},
                    "end_sleep_time": 0,
                }
            ],
            "take_final_screenshot": False,
        }
        request = run_request(data, settings, hitl=rig.hitl)
        self._task = asyncio.create_task(run_automation(request, browser))
        self.rig = rig

    async def paused(self) -> tuple[Pause, str]:
        pause, token = await self.rig.next_pause()
        await asyncio.sleep(0.5)  # let the page and the pause settle
        return pause, token

    async def finish(self, pause: Pause) -> RunResult:
        pause.resolve(PauseOutcome.DONE)
        result = await self._task
        if result.status != "success":
            raise RuntimeError(f"the paused run failed: {result.error}")
        return result


async def measure(quick: bool = False) -> Figure:
    watch_s, idle_s, clicks = (0.5, 0.3, 2) if quick else (6.0, 5.0, 25)
    figure = Figure(3, "Live view: frames, bytes, input-to-pixel latency, CPU")
    viewer = await ViewerProcess.start()
    try:
        port = (await viewer.call("serve"))["port"]
        toggle = f"http://127.0.0.1:{port}/toggle"
        with demo_site() as site, run_folder() as out:
            animated = f"{site}/animated"
            settings = settings_for(out)
            async with chromium() as (_, browser), LiveRig(settings) as rig:
                base = rig.base_url
                floor = await cdp_floor(browser, toggle, clicks, settings.screencast_quality)
                alone = await page_alone_cpu(browser, animated, idle_s)

                run = PausedRun(rig, browser, settings, animated)
                pause, token = await run.paused()
                idle_animated = await cpu_during(idle_s)
                unwatched_hub = rig.hub(pause)
                meter = CpuMeter()
                meter.start()
                watched = await viewer.call(
                    "watch", base=base, token=token, seconds=watch_s, width=WIDTH, height=HEIGHT
                )
                watching_cpu = meter.stop()
                await asyncio.sleep(0.5)  # the viewer has left; the screencast stops
                hub = rig.hub(pause)
                before = hub.frames_received if hub else 0
                after_cpu = await cpu_during(idle_s)
                frames_after = (hub.frames_received if hub else 0) - before
                still_streaming = bool(hub and hub.streaming)
                await run.finish(pause)

                run = PausedRun(rig, browser, settings, toggle)
                pause, token = await run.paused()
                idle_static = await cpu_during(idle_s)
                x, y = CLICK_AT
                clicked = await viewer.call(
                    "click",
                    base=base,
                    token=token,
                    clicks=clicks,
                    x=x,
                    y=y,
                    width=WIDTH,
                    height=HEIGHT,
                )
                await run.finish(pause)
    finally:
        await viewer.close()

    sizes = watched["jpeg_bytes"]
    fps = float(watched["fps"])
    figure.add(
        f"frames per second to one viewer, /animated ({watch_s:g} s)",
        f"{fps:.1f}",
        f">= {TARGET_FPS:.0f}",
        fps >= TARGET_FPS,
    )
    if sizes:
        figure.add(
            f"bytes per frame at {WIDTH}x{HEIGHT}, /animated (median, q60)",
            f"{median(sizes) / 1024:.0f} KiB ({fps * median(sizes) / 1024:.0f} KiB/s)",
        )
    latencies = [s * 1000 for s in clicked["latencies"]]
    floor_ms = [s * 1000 for s in floor]
    p50 = percentile(latencies, 50)
    figure.add(
        f"click in the viewer -> frame with its effect, p50 / p95 ({clicks} clicks)",
        f"{p50:.1f} / {percentile(latencies, 95):.1f} ms",
        f"p50 <= {TARGET_CLICK_P50_MS:.0f} ms",
        p50 <= TARGET_CLICK_P50_MS,
    )
    floor_p50 = percentile(floor_ms, 50)
    figure.add(
        "floor: raw CDP input + screencast, p50 / p95",
        f"{floor_p50:.1f} / {percentile(floor_ms, 95):.1f} ms",
    )
    figure.add("live view / floor (p50)", f"{p50 / floor_p50:.2f}")
    figure.add("CPU, one viewer on /animated", f"{watching_cpu:.0f}% of a core")
    figure.add("CPU, /animated open without a run or live view (the page's own)", f"{alone:.0f}%")
    figure.add(
        "CPU, paused on /animated, nobody watching",
        f"{idle_animated:.0f}% (screencast: {'none' if unwatched_hub is None else 'started'})",
    )
    figure.add(
        "after the viewer left: frames received / screencast running",
        f"{frames_after} / {'yes' if still_streaming else 'no'}",
        "no frames",
        frames_after == 0 and not still_streaming,
    )
    figure.add(
        "CPU, paused on a static page, nobody watching",
        f"{idle_static:.1f}% of a core",
        f"< {TARGET_IDLE_CPU:.0f}%",
        idle_static < TARGET_IDLE_CPU,
    )
    figure.add("CPU, /animated after the viewer left", f"{after_cpu:.0f}%")
    figure.notes.append(
        "CPU is this process (runner and live view server) + Playwright's driver + Chromium, "
        "in % of one core (the machine has two). An animated page costs CPU to render whether "
        "or not anyone watches; the live view's own idle cost is the difference to 'the "
        "page's own', and on a static page it is the whole figure."
    )
    return figure
