"""``python -m bench`` (``make bench``): measure every figure of issue 5, print, write RESULTS.md.

``--quick`` runs each figure with tiny parameters (seconds, not minutes) and writes nothing
unless ``--output`` says where; ``--only 1,3`` picks figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from bench import live_view, overhead, resume, scale, startup
from bench.common import machine
from bench.report import RESULTS, Figure, console_text, markdown

Measure = Callable[[bool], Awaitable[Figure]]

FIGURES: dict[int, tuple[str, Measure]] = {
    1: ("interpreter overhead", overhead.measure),
    2: ("resume latency", resume.measure),
    3: ("live view", live_view.measure),
    4: ("scale", scale.measure),
    5: ("start-up", startup.measure),
}


async def run_figure(number: int, quick: bool) -> Figure:
    """Measure one figure; a figure that fails is reported as failed, the others still run."""
    title, measure = FIGURES[number]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        figure = await measure(quick)
    except Exception as exc:  # reported below and in the exit code
        traceback.print_exc()
        figure = Figure(number, title)
        figure.add("the benchmark failed", f"{type(exc).__name__}: {exc}", "runs", False)
    figure.seconds = time.perf_counter() - t0
    figure.load = load
    return figure


def wait_for_quiet(limit: float, seconds: float) -> float:
    """Wait up to ``seconds`` for the 1-minute load average to fall below ``limit``."""
    deadline = time.monotonic() + seconds
    while (load := os.getloadavg()[0]) >= limit and time.monotonic() < deadline:
        print(f"  waiting for a quieter machine: load average {load:.2f}", flush=True)
        time.sleep(15)
    return load


async def run_all(numbers: list[int], quick: bool) -> list[Figure]:
    figures = []
    for number in numbers:
        figure = await run_figure(number, quick)
        print(console_text(figure), end="\n\n", flush=True)
        figures.append(figure)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny parameters: a smoke run")
    parser.add_argument("--only", help="comma-separated figure numbers (default: all)")
    parser.add_argument("--output", type=Path, help=f"where to write results [{RESULTS.name}]")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the load average to fall below 1",
    )
    args = parser.parse_args(argv)
    numbers = sorted(int(n) for n in args.only.split(",")) if args.only else sorted(FIGURES)
    output: Path | None = args.output
    if output is None and not args.quick and numbers == sorted(FIGURES):
        output = RESULTS

    here = machine()
    started = datetime.now().astimezone()
    load = wait_for_quiet(1.0, args.wait_quiet)
    print("Benchmarks of issue 5" + (" (quick)" if args.quick else ""))
    for line in here.lines():
        print(f"  {line}")
    print(f"  load average at start: {load:.2f}\n", flush=True)
    t0 = time.perf_counter()
    figures = asyncio.run(run_all(numbers, args.quick))
    seconds = time.perf_counter() - t0

    missed = [(f.number, row.metric) for f in figures for row in f.missed]
    print(f"{len(figures)} figures in {seconds:.0f} s; targets missed: {len(missed)}")
    for number, metric in missed:
        print(f"  {number}. {metric}")
    if output is not None:
        output.write_text(markdown(figures, here, started, seconds, load), encoding="utf-8")
        print(f"written: {output}")
    failed = any(row.metric == "the benchmark failed" for f in figures for row in f.rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
