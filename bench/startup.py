"""Figure 5: start-up. From ``optexity-runner run`` to the automation's first browser command.

End to end: the real CLI in a fresh process, on an automation whose ``url`` points at a small
HTTP server here that notes when the first request arrives (the navigation: the first command
the automation sends). Both sides read ``time.monotonic()``, one clock for every process on
Linux. The breakdown repeats the steps in a fresh interpreter with a timestamp after each:
interpreter start, importing the CLI, starting Playwright's driver, launching Chromium, a new
context and page, the navigation. ``-X importtime`` then names the slowest imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.common import median, run_folder
from bench.report import Figure

TARGET_S = 1.5
PYTHON = Path(sys.executable)
#: The console script next to this interpreter (the virtualenv's), else the one on PATH.
CLI = PYTHON.parent / "optexity-runner"
if not CLI.exists():
    CLI = Path(shutil.which("optexity-runner") or CLI)

#: Run in a fresh interpreter: prints the monotonic time after each start-up step.
PHASES_SCRIPT = """
import time
marks = {"interpreter": time.monotonic()}
import asyncio, json, sys
import optexity_runner.cli
marks["import"] = time.monotonic()
from playwright.async_api import async_playwright
from optexity_runner.browser import launch_browser

async def main():
    async with async_playwright() as playwright:
        marks["driver"] = time.monotonic()
        browser = await launch_browser(playwright)
        marks["launch"] = time.monotonic()
        context = await browser.new_context()
        page = await context.new_page()
        marks["context_page"] = time.monotonic()
        await page.goto(sys.argv[1])
        marks["navigation"] = time.monotonic()
        await browser.close()

asyncio.run(main())
print(json.dumps(marks))
"""
PHASES = ("interpreter", "import", "driver", "launch", "context_page", "navigation")
PHASE_NAMES = {
    "interpreter": "Python interpreter start",
    "import": "import optexity_runner.cli (and its dependencies)",
    "driver": "Playwright driver start",
    "launch": "Chromium launch",
    "context_page": "new context + page",
    "navigation": "first navigation (loopback, tiny page)",
}


class _ArrivalLog(BaseHTTPRequestHandler):
    arrivals: list[float]

    def do_GET(self) -> None:
        self.arrivals.append(time.monotonic())
        body = b"<!doctype html><title>start</title><p>start"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # The run may move on (or exit) without reading it: nothing to do then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def arrival_server() -> Iterator[tuple[str, list[float]]]:
    """A loopback server that records when each request arrives; yields (url, arrivals)."""
    arrivals: list[float] = []
    handler = type("Handler", (_ArrivalLog,), {"arrivals": arrivals})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/start", arrivals
    finally:
        server.shutdown()
        server.server_close()


def end_to_end(url: str, arrivals: list[float], folder: Path) -> tuple[float, float]:
    """(seconds to the first request, seconds to the process's exit) of one CLI run."""
    automation = {
        "url": url,
        "parameters": {"input_parameters": {}},
        "nodes": [{"type": "action_node", "sleep_action": {"sleep_time": 0}, "end_sleep_time": 0}],
        "take_final_screenshot": False,
    }
    path = folder / "startup.json"
    path.write_text(json.dumps(automation), encoding="utf-8")
    before = len(arrivals)
    t0 = time.monotonic()
    subprocess.run(
        [str(CLI), "run", str(path), "--out", str(folder / "runs")],
        check=True,
        capture_output=True,
    )
    exited = time.monotonic() - t0
    if len(arrivals) <= before:
        raise RuntimeError("the run never requested its start page")
    return arrivals[before] - t0, exited


def phases(url: str) -> dict[str, float]:
    """Seconds spent in each start-up step, in a fresh interpreter."""
    t0 = time.monotonic()
    done = subprocess.run(
        [str(PYTHON), "-c", PHASES_SCRIPT, url], check=True, capture_output=True, text=True
    )
    marks: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    previous, spent = t0, {}
    for phase in PHASES:
        spent[phase] = marks[phase] - previous
        previous = marks[phase]
    return spent


def slowest_imports(count: int = 6) -> list[tuple[str, float]]:
    """The third-party packages that take longest to import for the CLI (``-X importtime``).

    Per top-level package, its most expensive import; a package imported by another is
    counted in both, so the list says where the time goes rather than adding up.
    """
    done = subprocess.run(
        [str(PYTHON), "-X", "importtime", "-c", "import optexity_runner.cli"],
        check=True,
        capture_output=True,
        text=True,
    )
    # "import time: self [us] | cumulative | imported package"
    packages: dict[str, float] = {}
    for line in done.stderr.splitlines():
        _, _, fields = line.partition("import time:")
        parts = fields.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue  # the header
        root = parts[2].strip().split(".")[0]
        ours = root in ("optexity_runner", "schemas") or root.startswith("_")
        if not ours and root not in sys.stdlib_module_names:
            packages[root] = max(packages.get(root, 0.0), int(parts[1]) / 1e6)
    return sorted(packages.items(), key=lambda item: -item[1])[:count]


async def measure(quick: bool = False) -> Figure:
    runs = 1 if quick else 5
    figure = Figure(5, "Start-up: `optexity-runner run` to the first browser command")
    with arrival_server() as (url, arrivals), run_folder() as folder:
        e2e = [await asyncio.to_thread(end_to_end, url, arrivals, folder) for _ in range(runs)]
        split = [await asyncio.to_thread(phases, url) for _ in range(runs)]
        imports = await asyncio.to_thread(slowest_imports)
    first = median([e[0] for e in e2e])
    figure.add(
        f"CLI start to first browser command (median of {runs})",
        f"{first * 1000:.0f} ms",
        f"<= {TARGET_S * 1000:.0f} ms",
        first <= TARGET_S,
    )
    figure.add("CLI start to exit (one-step run)", f"{median([e[1] for e in e2e]) * 1000:.0f} ms")
    for phase in PHASES:
        figure.add(f"- {PHASE_NAMES[phase]}", f"{median([s[phase] for s in split]) * 1000:.0f} ms")
    # The end-to-end figure stops when the navigation's request arrives, before it loads.
    before_navigation = [phase for phase in PHASES if phase != "navigation"]
    cli_only = first - sum(median([s[phase] for s in split]) for phase in before_navigation)
    figure.add(
        "- the CLI's own work (arguments, loading the file, run folder)",
        f"{cli_only * 1000:.0f} ms",
    )
    figure.notes.append(
        "Phases measured one after the other in a fresh interpreter; the CLI's own work is the "
        "end-to-end figure minus their sum. Driver start is Node.js starting Playwright's "
        "server; launch and context + page are Chromium's. Engine edit for this figure: the "
        "live view (FastAPI, uvicorn) is imported only when the automation can pause "
        "(hitl_wiring), which took ~0.1-0.3 s off every other start."
    )
    figure.notes.append(
        "Slowest imports of the CLI (cumulative, a package's most expensive import): "
        + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in imports)
    )
    return figure
