"""The interpreter: walks nodes in order and hands each to its runner.

It only moves data: action handlers (``actions.registry``) and flow runners (``flow``) do the
work. For each action node it applies the timing fields, records a ``NodeRecord`` and the
``node_started`` / ``node_finished`` events, and turns any failure into a
``StepFailedError`` naming the node, the action and the command.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from playwright.async_api import Error as PlaywrightError

from optexity_runner import flow
from optexity_runner.actions.registry import ACTION_HANDLERS
from optexity_runner.context import RunContext, StepContext
from optexity_runner.errors import OptexityError, PlaceholderError, RunError, StepFailedError
from optexity_runner.expressions import ExpressionEvaluationError
from optexity_runner.failures import first_line
from optexity_runner.result import NodeRecord, NodeStatus, utc_now
from optexity_runner.variables import Scope
from schemas.interaction import BaseAction, GoToUrl
from schemas.nodes import ActionNode, Node

NEW_TAB_TIMEOUT = 10.0

NodeRunner = Callable[["Interpreter", Any, str, Scope, tuple[int, ...]], Awaitable[None]]


class Interpreter:
    """Runs a list of nodes for one run attempt."""

    def __init__(self, run: RunContext) -> None:
        self.run = run

    async def run_nodes(
        self, nodes: Sequence[Node], prefix: str, scope: Scope, iteration: tuple[int, ...] = ()
    ) -> None:
        """Run ``nodes`` in order; their indexes are ``prefix`` + position (``"3."`` + ``"0"``)."""
        for position, node in enumerate(nodes):
            await NODE_RUNNERS[node.type](self, node, f"{prefix}{position}", scope, iteration)

    async def run_action_node(
        self, node: ActionNode, index: str, scope: Scope, iteration: tuple[int, ...]
    ) -> None:
        """One action node: before sleep, the handler, new tab, then wait for ``load``."""
        action = node.action
        command = _command_of(
            node.interaction_action.sub_action if node.interaction_action else action
        )
        kind = node.interaction_action.kind if node.interaction_action else node.kind
        step = StepContext(self.run, index, node, scope, iteration)
        started, t0 = utc_now(), time.perf_counter()
        sub_action = node.interaction_action.sub_action if node.interaction_action else action
        self.run.store.emit(
            "node_started",
            node_index=index,
            action=kind,
            command=command,
            prompt=getattr(sub_action, "prompt_instructions", None),
            iteration=list(iteration),
        )
        status: NodeStatus = "success"
        error: str | None = None
        self.run.state.current_node = index
        try:
            if node.before_sleep_time:
                await asyncio.sleep(node.before_sleep_time)
            tabs_before = len(self.run.tabs.pages)
            await ACTION_HANDLERS[node.kind](action, step)
            if node.expect_new_tab:
                await self._wait_for_new_tab(step, tabs_before, kind, command)
            if node.interaction_action and node.end_sleep_time:
                await self._settle(step, node.end_sleep_time)
            if step.outcome.skipped:
                status = "optional_step_skipped" if step.outcome.optional else "skipped"
                error = step.outcome.skipped
        except StepFailedError as exc:
            status, error = "failed", exc.cause
            raise
        except (PlaceholderError, ExpressionEvaluationError) as exc:
            # Data errors name the node, like any other failed step.
            status, error = "failed", str(exc)
            raise StepFailedError(index, kind, command, error) from exc
        except OptexityError as exc:
            status, error = "failed", str(exc)
            if exc.node_index is None:
                exc.node_index = index
            raise
        except (PlaywrightError, OSError, LookupError, ValueError) as exc:
            status, error = "failed", first_line(exc)
            raise StepFailedError(index, kind, command, error) from exc
        except asyncio.CancelledError:
            # The run's time limit (or a shutdown) interrupted this node.
            status, error = "failed", "interrupted: the run was stopped while this node ran"
            raise
        finally:
            self.record(
                node,
                index,
                iteration,
                started,
                t0,
                action=kind,
                command=command,
                status=status,
                error=error,
                tries=step.outcome.tries,
            )

    async def _wait_for_new_tab(
        self, step: StepContext, before: int, kind: str, command: str | None
    ) -> None:
        page = await self.run.tabs.wait_for_new_page(before, NEW_TAB_TIMEOUT)
        if page is None:
            raise StepFailedError(
                step.index, kind, command, f"no new tab opened within {NEW_TAB_TIMEOUT:g} s"
            )
        self.run.tabs.switch(page)
        step.emit("tab_opened", url=page.url)

    async def _settle(self, step: StepContext, seconds: float) -> None:
        # Not a fixed sleep: return as soon as the current tab's document has loaded.
        try:
            await step.page.wait_for_load_state("load", timeout=seconds * 1000)
        except PlaywrightError:
            step.emit("load_wait_expired", seconds=seconds)

    def record(
        self,
        node: Node,
        index: str,
        iteration: tuple[int, ...],
        started: datetime,
        t0: float,
        *,
        action: str | None = None,
        command: str | None = None,
        status: NodeStatus = "success",
        error: str | None = None,
        tries: int = 0,
        **fields: Any,
    ) -> None:
        """Append the node's ``NodeRecord`` and emit its closing event.

        The event is ``node_finished``, or ``skipped`` / ``optional_step_skipped`` for a step
        that did not act. ``action`` defaults to the node's type (flow nodes); ``fields`` go
        into the event only (iterations, branch taken, assertion result).
        """
        duration_ms = round((time.perf_counter() - t0) * 1000, 1)
        record = NodeRecord(
            index=index,
            attempt=self.run.attempt,
            type=node.type,
            action=action or node.type,
            command=command,
            iteration=list(iteration),
            status=status,
            tries=tries,
            started_at=started,
            duration_ms=duration_ms,
            error=error,
        )
        self.run.state.nodes.append(record)
        event = status if status in ("skipped", "optional_step_skipped") else "node_finished"
        self.run.store.emit(
            event,
            node_index=index,
            action=record.action,
            command=command,
            status=status,
            duration_ms=duration_ms,
            tries=tries,
            iteration=list(iteration),
            error=error,
            **fields,
        )


def _command_of(action: Any) -> str | None:
    if isinstance(action, BaseAction):
        return action.target
    if isinstance(action, GoToUrl):
        return action.url
    for name in ("locator", "count_locator"):
        inner = getattr(action, name, None)
        if inner is not None and getattr(inner, "command", None):
            return str(inner.command)
    return None


async def _run_action_node(
    interpreter: Interpreter, node: ActionNode, index: str, scope: Scope, iteration: tuple[int, ...]
) -> None:
    await interpreter.run_action_node(node, index, scope, iteration)


NODE_RUNNERS: Mapping[str, NodeRunner] = {
    "action_node": _run_action_node,
    "for_loop_node": flow.run_for_loop,
    "if_else_node": flow.run_if_else,
    "assert_locator_node": flow.run_assert_locator,
}

__all__ = ["NODE_RUNNERS", "Interpreter", "RunError"]
