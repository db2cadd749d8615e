"""Figure 4: scale on one machine. N runs at once in one browser, a context each.

Two passes per N. Throughput: N copies of a 20-step run of figure 1's flow started together;
the batch's wall time per run and each run's own duration. Memory: N runs that sign in, open
the claim form and then wait at a ``human_in_loop_action`` whose "person" is a gate held shut
until all N are waiting; then the PSS of Chromium's process tree (``smaps_rollup``) is read
with every context open on its page, and the gate opens. Memory per extra run is the slope
between N = 1 and the largest N.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser

from bench.common import (
    CpuMeter,
    Memory,
    chromium,
    chromium_memory_mb,
    demo_site,
    memory_mb,
    run_folder,
    run_request,
    runner_processes,
    settings_for,
)
from bench.overhead import flow_automation
from bench.report import Figure
from optexity_runner.context import StepContext
from optexity_runner.result import RunResult
from optexity_runner.run_store import RunStore
from optexity_runner.runner import RunRequest, run_automation
from optexity_runner.settings import RunnerSettings
from schemas import HumanInLoopAction

TARGET_MB_PER_RUN = 60.0
STEPS = 20
#: Throughput that grows less than this from one N to the next has stopped scaling.
SCALING_GAIN = 1.10


class Gate:
    """A stand-in for the person: holds every run at its pause until ``open``."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.waiting = 0
        self.all_waiting = asyncio.Event()
        self._open = asyncio.Event()

    def for_run(self, run_id: str, name: str, store: RunStore) -> Gate:
        return self  # the run's HumanLoop (runner.HumanLoopFactory)

    async def pause(self, step: StepContext, action: HumanInLoopAction) -> None:
        self.waiting += 1
        if self.waiting >= self.expected:
            self.all_waiting.set()
        await self._open.wait()

    def open(self) -> None:
        self._open.set()


def hold_automation(base_url: str) -> dict[str, Any]:
    """Sign in, open the claim form, pause there."""
    data = flow_automation(base_url, steps=4)
    data["nodes"].append(
        {"type": "action_node", "human_in_loop_action": {"max_wait_time": 300}, "end_sleep_time": 0}
    )
    return data


async def _batch(browser: Browser, requests: list[RunRequest]) -> list[RunResult]:
    results = await asyncio.gather(*(run_automation(r, browser) for r in requests))
    failed = [r for r in results if r.status != "success"]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(results)} runs failed: {failed[0].error}")
    return results


@dataclass(frozen=True)
class Batch:
    """N runs started together."""

    wall_per_run: float
    """The batch's wall time divided by N, seconds."""
    mean_run: float
    """Each run's own duration, averaged, seconds."""
    cpu: float
    """CPU of the runner (Python, driver, Chromium) during the batch, % of one core."""


async def throughput(
    browser: Browser, base_url: str, settings: RunnerSettings, n: int, steps: int
) -> Batch:
    data = flow_automation(base_url, steps)
    meter = CpuMeter()
    meter.start()
    t0 = time.perf_counter()
    results = await _batch(browser, [run_request(data, settings) for _ in range(n)])
    wall = time.perf_counter() - t0
    return Batch(wall / n, sum(r.duration_s for r in results) / n, meter.stop())


@dataclass(frozen=True)
class Held:
    """Memory with N runs paused on the claim form."""

    chromium: Memory
    runner: Memory
    """Python, Playwright's driver and Chromium."""


async def memory(browser: Browser, base_url: str, settings: RunnerSettings, n: int) -> Held:
    gate = Gate(n)
    data = hold_automation(base_url)
    requests = [run_request(data, settings, hitl=gate.for_run) for _ in range(n)]
    batch = asyncio.create_task(_batch(browser, requests))
    await asyncio.wait_for(gate.all_waiting.wait(), timeout=120)
    await asyncio.sleep(0.5)  # let the renderers settle after the last load
    held = Held(chromium_memory_mb(), memory_mb(runner_processes()))
    gate.open()
    await batch
    return held


def available_mb() -> float:
    for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024 / 1e6
    return 0.0


async def measure(quick: bool = False) -> Figure:
    counts, steps = ((1, 2), 4) if quick else ((1, 4, 8, 16), STEPS)
    figure = Figure(4, "Scale on one machine: N runs at once in one browser")
    with demo_site() as base_url, run_folder() as out:
        settings = settings_for(out)
        async with chromium() as (_, browser):
            idle = chromium_memory_mb()
            if not quick:
                await throughput(browser, base_url, settings, 1, steps)  # warm up
            batches: dict[int, Batch] = {}
            held: dict[int, Held] = {}
            for n in counts:
                batches[n] = await throughput(browser, base_url, settings, n, steps)
                held[n] = await memory(browser, base_url, settings, n)
            free = available_mb()
    figure.add("Chromium with no run: PSS / private", f"{idle.pss:.0f} / {idle.private:.0f} MB")
    for n in counts:
        b = batches[n]
        figure.add(
            f"N={n}: wall time per run / mean run duration / runner CPU",
            f"{b.wall_per_run:.2f} s / {b.mean_run:.2f} s / {b.cpu:.0f}%",
        )
    for n in counts:
        figure.add(
            f"N={n} paused on the form: PSS of Chromium / whole runner",
            f"{held[n].chromium.pss:.0f} / {held[n].runner.pss:.0f} MB",
        )
    top = counts[-1]

    def slope(memory_of: Callable[[Held], float]) -> float:
        return (memory_of(held[top]) - memory_of(held[1])) / (top - 1)

    per_run = slope(lambda h: h.chromium.pss)
    figure.add(
        f"memory per extra run (Chromium PSS, N=1 to {top})",
        f"{per_run:.1f} MB",
        f"<= {TARGET_MB_PER_RUN:.0f} MB",
        per_run <= TARGET_MB_PER_RUN,
    )
    first = held[1].chromium.pss - idle.pss
    figure.add("memory of the first run (Chromium PSS, N=1 minus no run)", f"{first:.0f} MB")
    figure.add(
        "memory per extra run: Chromium private / whole runner PSS",
        f"{slope(lambda h: h.chromium.private):.1f} / {slope(lambda h: h.runner.pss):.1f} MB",
    )
    stop = next(
        (
            prev
            for prev, nxt in itertools.pairwise(counts)
            if batches[nxt].wall_per_run * SCALING_GAIN > batches[prev].wall_per_run
        ),
        None,
    )
    figure.add("stops scaling at", f"N={stop}" if stop else f"not within N={top}")
    fits = free / max(slope(lambda h: h.runner.pss), 1)
    figure.add("runs that would fit in the memory available", f"~{fits:.0f}")
    figure.notes.append(
        f"A run here is {steps} steps of figure 1's flow (sign in, claim form), one context "
        f"each. 'Stops scaling': the first N after which more runs at once add less than "
        f"{SCALING_GAIN - 1:.0%} throughput (wall time per run). Runner CPU is Python + "
        "Playwright's driver + Chromium (renderers of closed contexts included) in % of one "
        "core: 200% is both cores of this machine, so where it stops scaling the runs are "
        "waiting for CPU, not memory."
    )
    figure.notes.append(
        "Absolute PSS includes a share of Chromium's code pages, split with every process "
        "that maps them (another Chromium on the machine lowers ours), so it moves with what "
        "else runs. The first run costs more than the next ones: its renderer brings in code "
        "pages no process had mapped yet, which the later renderers share."
    )
    return figure
