"""The benchmarks of issue 5: ``python -m bench`` (``make bench``) writes ``bench/RESULTS.md``.

One module per figure, each with ``async def measure(quick: bool = False) -> Figure``:

1. ``overhead``: interpreter overhead, the runner against a hand-written Playwright script;
2. ``resume``: Done in the live view to the next node's first browser command; deadlines;
3. ``live_view``: frame rate, frame size, click-to-pixel latency against raw CDP, CPU;
4. ``scale``: N runs at once in one browser, wall time, memory per run;
5. ``startup``: ``optexity-runner run`` to the first browser command, broken down.

Shared: ``common`` (machine, statistics, process tree memory and CPU, demo site, browser),
``report`` (figures as tables), ``live_rig`` and ``viewer`` (the pause service with its live
view, and a viewer in a process of its own).
"""
