"""The context objects handlers receive: one per run (``RunContext``), one per step.

Handlers get a frozen ``StepContext``; everything they may touch is reachable from it, so a
handler needs no globals and a test can build one around a real page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from playwright.async_api import Locator, Page

from optexity_runner.locators import LocatorExpr, parse_locator
from optexity_runner.placeholders import substitute
from optexity_runner.result import DownloadRecord, NodeRecord, PauseRecord
from optexity_runner.run_store import RunStore
from optexity_runner.settings import RunnerSettings
from optexity_runner.tabs import Tabs
from optexity_runner.variables import Scope, Variables

if TYPE_CHECKING:
    from schemas import Automation, HumanInLoopAction
    from schemas.nodes import ActionNode


class HumanLoop(Protocol):
    """Pauses a run for a person (``optexity_runner.hitl``); wired in by the CLI."""

    async def pause(self, step: StepContext, action: HumanInLoopAction) -> None:
        """Return when the person pressed Done; raise the HITL exceptions otherwise."""
        ...


class ModelProvider(Protocol):
    """A model-backed capability (LLM extraction, assertion, agentic step).

    None ships with the runner: files that need one are rejected at load time unless a
    provider is registered under the key the loader checks (``"llm"``), and such a step fails
    with ``ProviderRequiredError`` at run time without one. How to plug one in (load with
    ``providers=["llm"]``, run with ``RunRequest(providers={"llm": ...})``) and what the prompt
    holds: ``optexity_runner.actions.model_backed``.
    """

    name: str

    async def complete(self, prompt: str, *, screenshot: bytes | None = None) -> str: ...


@dataclass
class RunState:
    """What the run has produced so far (mutable; the runner and interpreter own it).

    Node records, downloads and pauses span every attempt (each says which); outputs and
    ``current_node`` are reset when an attempt starts.
    """

    nodes: list[NodeRecord] = field(default_factory=list)
    downloads: list[DownloadRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    looped_outputs: set[str] = field(default_factory=set)
    """Output names recorded inside a loop: their values accumulate in a list."""
    pauses: list[PauseRecord] = field(default_factory=list)
    current_node: str | None = None
    """Index of the action node running now (or last run): where a time limit struck."""


@dataclass(frozen=True)
class RunContext:
    """One run attempt: the automation, its browser context, its record."""

    run_id: str
    name: str
    automation: Automation
    settings: RunnerSettings
    store: RunStore
    variables: Variables
    tabs: Tabs
    state: RunState
    source_dir: Path
    """Folder of the automation file: relative ``file_path`` values start here."""
    deadline: float
    """The run's hard time limit, in the event loop's clock (``loop.time()``)."""
    attempt: int = 1
    """Which whole-run attempt this is (``max_retries``)."""
    hitl: HumanLoop | None = None
    providers: dict[str, ModelProvider] = field(default_factory=dict)


@lru_cache(maxsize=1024)
def compiled_locator(command: str) -> LocatorExpr:
    """The parsed form of a command (already checked at load time)."""
    return parse_locator(command)


@dataclass
class StepOutcome:
    """What a handler reports back besides success: tries used, or why it skipped."""

    tries: int = 1
    skipped: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class StepContext:
    """One node being run: where it is, its loop scope, and the run around it."""

    run: RunContext
    index: str
    node: ActionNode
    scope: Scope
    iteration: tuple[int, ...] = ()
    outcome: StepOutcome = field(default_factory=StepOutcome)

    @property
    def page(self) -> Page:
        return self.run.tabs.current

    def text(self, template: str) -> str:
        """``template`` with placeholders substituted (one pass)."""
        return substitute(template, self.scope)

    def locator(self, command: str) -> Locator:
        """The Playwright locator for ``command`` on the current tab."""
        return compiled_locator(command).bind(self.page, self.scope)

    def emit(self, event: str, **fields: Any) -> None:
        self.run.store.emit(event, node_index=self.index, **fields)
