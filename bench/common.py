"""What every figure needs: the machine, statistics, the process tree, the demo site, a browser.

Memory and CPU are read from ``/proc`` (Linux only, as the figures are): PSS from
``/proc/<pid>/smaps_rollup`` (shared pages split between the processes that map them, so a
sum over a tree is not inflated), CPU from the ``utime``/``stime`` ticks of ``/proc/<pid>/stat``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Playwright, async_playwright

from optexity_runner.browser import launch_browser, resolve_chromium
from optexity_runner.errors import BrowserUnavailableError
from optexity_runner.loader import parse_automation
from optexity_runner.runner import RunRequest
from optexity_runner.settings import RunnerSettings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the machine ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    """Where a run of the benchmarks happened."""

    cpu: str
    cores: int
    memory_gib: float
    os: str
    chromium: str
    playwright: str
    python: str

    def lines(self) -> list[str]:
        return [
            f"CPU: {self.cpu}, {self.cores} cores, {self.memory_gib:.0f} GiB",
            f"OS: {self.os}",
            f"Chromium {self.chromium}, Playwright {self.playwright}, Python {self.python}",
        ]


def machine() -> Machine:
    """Read the CPU model, cores, memory, OS and the browser stack's versions."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    os_name = platform.platform()
    os_release = Path("/etc/os-release")
    if os_release.exists():
        for line in os_release.read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    from importlib.metadata import version

    return Machine(
        cpu=cpu,
        cores=os.cpu_count() or 1,
        memory_gib=memory_kib / 1024 / 1024,
        os=f"{os_name}, Linux {platform.release()}",
        chromium=chromium_version(),
        playwright=version("playwright"),
        python=platform.python_version(),
    )


def chromium_version() -> str:
    """The version of the Chromium the runner launches (without starting it)."""
    try:
        path = resolve_chromium(None)
    except BrowserUnavailableError as exc:
        return f"none ({exc})"
    if path is None:
        return "Playwright's own"
    done = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip().removeprefix("Chromium ").strip() or "unknown"


# --- statistics ----------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100), interpolated between the closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- the process tree ----------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    return text[text.rindex(")") + 2 :].split()


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, from the parent ids in ``/proc/*/stat``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def executable(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def chromium_roots(root: int = 0) -> list[int]:
    """The browser processes below ``root`` (this process by default): Chromium processes whose
    parent is not Chromium. Their trees hold the renderers, GPU and utility processes."""
    tree = descendants(root or os.getpid())
    roots = []
    for pid in tree:
        if "chrom" not in executable(pid):
            continue
        try:
            parent = int(_stat_fields(pid)[1])
        except (OSError, ValueError, IndexError):
            continue
        if "chrom" not in executable(parent):
            roots.append(pid)
    return roots


@dataclass(frozen=True)
class Memory:
    """Memory of a set of processes, in MB (10^6 bytes)."""

    pss: float
    """Proportional set size: private pages plus a share of every shared page. The shares of
    Chromium's code pages depend on how many processes map them, other browsers on the
    machine included, so absolute PSS moves with what else runs."""
    private: float
    """Pages only these processes use (``Private_Clean`` + ``Private_Dirty``)."""


def memory_mb(pids: Sequence[int]) -> Memory:
    """PSS and private memory of ``pids`` from ``smaps_rollup`` (exited processes count 0)."""
    kib = {"Pss:": 0, "Private_Clean:": 0, "Private_Dirty:": 0}
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            key, _, rest = line.partition(" ")
            if key in kib:
                kib[key] += int(rest.split()[0])
    mb = 1024 / 1e6
    return Memory(kib["Pss:"] * mb, (kib["Private_Clean:"] + kib["Private_Dirty:"]) * mb)


def chromium_memory_mb() -> Memory:
    """Memory of every Chromium started by this process, renderers included."""
    return memory_mb([pid for root in chromium_roots() for pid in descendants(root)])


def cpu_seconds(pids: Sequence[int], reaped: bool = False) -> float:
    """User + system CPU time of ``pids`` in seconds; with ``reaped``, also the time of
    their children that have exited and been waited for (``cutime``, ``cstime``)."""
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue  # exited: its time moves to its parent's cutime once waited for
        # After the command name: utime, stime, cutime, cstime are fields 11 to 14.
        total += int(fields[11]) + int(fields[12])
        if reaped:
            total += int(fields[13]) + int(fields[14])
    return total / CLOCK_TICKS


def runner_processes() -> list[int]:
    """The runner: this process, Playwright's driver and every Chromium below the driver.

    Helper processes the benchmarks start themselves (the demo site, a viewer) are Python
    children of this process, not of the driver, so they are left out.
    """
    me = os.getpid()
    return [me, *_driver_processes(me)]


def _driver_processes(me: int) -> list[int]:
    pids = []
    for pid in descendants(me):
        if pid != me and os.path.basename(executable(pid)) == "node":
            pids.extend(descendants(pid))
    return pids


def runner_cpu_seconds() -> float:
    """CPU time of the runner so far: this process, and the driver with every Chromium
    process below it, those that have exited included (Chromium's zygote waits for its
    renderers, so a renderer of a closed context still counts)."""
    me = os.getpid()
    return cpu_seconds([me]) + cpu_seconds(_driver_processes(me), reaped=True)


class CpuMeter:
    """CPU used by the runner (``runner_cpu_seconds``) as a share of one core."""

    def __init__(self) -> None:
        self._start = 0.0
        self._t0 = 0.0

    def start(self) -> None:
        self._start = runner_cpu_seconds()
        self._t0 = time.perf_counter()

    def stop(self) -> float:
        """Percent of one core used since ``start`` (200% = both cores of this machine)."""
        used = runner_cpu_seconds() - self._start
        return 100 * used / (time.perf_counter() - self._t0)


# --- the demo site, the browser, runs ------------------------------------------------------


@contextmanager
def demo_site() -> Iterator[str]:
    """The bundled demo site on a free loopback port, in its own process; yields its base URL.

    Its own process, as in real use: in ours it would take the GIL from the runner under
    measurement and add its CPU to the runner's.
    """
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "site" / "server.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # aborted loads (a navigation moving on) print tracebacks
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # "Acme Claims Portal demo site: http://127.0.0.1:PORT"
        if "http://" not in line:
            raise RuntimeError(f"the demo site did not start: {line!r}")
        yield line[line.index("http://") :].strip()
    finally:
        server.terminate()
        server.wait(timeout=10)


@asynccontextmanager
async def chromium() -> AsyncIterator[tuple[Playwright, Browser]]:
    """Playwright and one Chromium launched exactly as the runner launches it."""
    async with async_playwright() as playwright:
        browser = await launch_browser(playwright)
        try:
            yield playwright, browser
        finally:
            await browser.close()


@contextmanager
def run_folder() -> Iterator[Path]:
    """A throw-away folder for run folders."""
    with tempfile.TemporaryDirectory(prefix="optexity-bench-") as folder:
        yield Path(folder)


def settings_for(out_dir: Path, **fields: Any) -> RunnerSettings:
    """Runner settings for a benchmark: run folders in ``out_dir``, nothing from the env."""
    return RunnerSettings(out_dir=out_dir, retry_backoff=0, _env_file=None, **fields)


def run_request(data: dict[str, Any], settings: RunnerSettings, **request: Any) -> RunRequest:
    """A ``RunRequest`` for automation JSON ``data``, validated as the CLI validates files."""
    automation = parse_automation(json.dumps(data), "<bench>")
    return RunRequest(
        automation=automation,
        name=data.get("automation_description") or "bench",
        source_dir=EXAMPLES,
        settings=settings,
        **request,
    )
