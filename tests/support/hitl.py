"""Pause-related builders and the operator's side: the terminal, runs wired as the CLI does.

``live_run`` starts an automation through ``hitl_wiring.human_loop_for`` (real live view
server in the test's loop); the person then uses the link the runner printed.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser

from optexity_runner.context import RunContext, RunState, StepContext
from optexity_runner.hitl_wiring import human_loop_for
from optexity_runner.loader import parse_automation
from optexity_runner.mail import Mailer
from optexity_runner.pause import Pause, PauseCoordinator
from optexity_runner.result import RunResult
from optexity_runner.run_store import EventListener, RunStore, new_run_id
from optexity_runner.runner import RunRequest, run_automation
from optexity_runner.settings import RunnerSettings
from optexity_runner.tabs import Tabs
from optexity_runner.variables import Redactor, Scope, Variables
from schemas.nodes import ActionNode

from .paths import EXAMPLES
from .runs import automation, example

LINK_RE = re.compile(r"http://\S+/live#(\S+)")
PASSWORD = "correct horse battery"


def hitl_login(base_url: str, *, whole: bool = False, **pause_fields: Any) -> dict[str, Any]:
    """examples/hitl_login.json against ``base_url``, its pause node adjusted.

    Unless ``whole``, only username, pause and sign-in (what these tests are about).
    """
    data = example("hitl_login.json", base_url)
    data["nodes"][1]["human_in_loop_action"].update(pause_fields)
    if not whole:
        data["nodes"] = data["nodes"][:3]
        data["take_final_screenshot"] = False
    return data


def pause_node(max_wait_time: float, **fields: Any) -> dict[str, Any]:
    action = {"max_wait_time": max_wait_time, **fields}
    return {"type": "action_node", "human_in_loop_action": action, "end_sleep_time": 0}


async def new_step(browser: Browser, settings: RunnerSettings, url: str) -> StepContext:
    """A run context around a fresh browser context, as the runner builds one."""
    data = automation(url, [pause_node(1)])
    parsed = parse_automation(json.dumps(data), "<test>")
    redactor = Redactor()
    store = RunStore(settings.out_dir, new_run_id(), redactor)
    tabs = Tabs(await browser.new_context())
    await (await tabs.open_first()).goto(url)
    variables = Variables(parsed.parameters, {}, redactor)
    run = RunContext(
        run_id=store.run_id, name="test", automation=parsed, settings=settings, store=store,
        variables=variables, tabs=tabs, state=RunState(), source_dir=Path("."),
        deadline=asyncio.get_running_loop().time() + 600,
    )  # fmt: skip
    node = parsed.nodes[0]
    assert isinstance(node, ActionNode)
    return StepContext(run, "0", node, Scope(variables, lambda: tabs.current))


class Terminal:
    """Collects the operator lines the service prints."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def links(self) -> list[str]:
        return [m.group(0) for line in self.lines for m in [LINK_RE.search(line)] if m]


class LiveTerminal(Terminal):
    """A terminal whose links can be awaited as they are printed."""

    def __init__(self) -> None:
        super().__init__()
        self._printed = asyncio.Event()

    def line(self, text: str) -> None:
        super().line(text)
        self._printed.set()

    async def link(self, number: int = 1, timeout: float = 10) -> str:
        """The ``number``-th link printed, waiting for it."""
        async with asyncio.timeout(timeout):
            while len(self.links()) < number:
                self._printed.clear()
                await self._printed.wait()
        return self.links()[number - 1]


@dataclass
class LiveRun:
    task: asyncio.Task[RunResult]
    coordinator: PauseCoordinator
    terminal: LiveTerminal
    times: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    """``(perf_counter, event)`` for every event, as it was emitted."""
    pauses: list[Pause] = field(default_factory=list)
    """Every pause opened, in order."""

    async def result(self, timeout: float = 20) -> RunResult:
        return await asyncio.wait_for(asyncio.shield(self.task), timeout)


@asynccontextmanager
async def live_run(
    data: dict[str, Any],
    browser: Browser,
    settings: RunnerSettings,
    *,
    mailer: Mailer | None = None,
) -> AsyncIterator[LiveRun]:
    """Start ``data`` as the CLI does (``human_loop_for`` around the run)."""
    terminal = LiveTerminal()
    times: list[tuple[float, dict[str, Any]]] = []
    listener: EventListener = lambda record: times.append((time.perf_counter(), record))  # noqa: E731
    request = RunRequest(
        automation=parse_automation(json.dumps(data), "<test>"),
        name=data.get("automation_description") or "test",
        source_dir=EXAMPLES,
        settings=settings,
        listeners=[listener],
    )
    async with human_loop_for(request, terminal, mailer=mailer) as coordinator:
        assert coordinator is not None
        pauses: list[Pause] = []
        coordinator.on_open(pauses.append)
        task = asyncio.create_task(run_automation(request, browser))
        try:
            yield LiveRun(task, coordinator, terminal, times, pauses)
        finally:
            if not task.done():
                task.cancel()
            await asyncio.wait([task])
