"""Flow nodes: ``for_loop_node``, ``if_else_node`` and ``assert_locator_node``.

Each runner receives the interpreter, the node, its index (a path: ``3``, ``3.0``,
``3.if.1``, ``3.reset.0``), the scope it runs in and its loop iteration. Nodes are never
copied or changed: a loop hands each iteration a new ``Scope`` with one more ``LoopFrame``,
and placeholders (``{var[index]}``, ``{index_of(var)}``, ``{index}``, ``{locator[index]}``)
are resolved through it when a step uses them. Every flow node ends in a ``NodeRecord`` and a
``node_finished`` event, failed or not; loop body nodes carry their ``iteration``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from optexity_runner.context import compiled_locator
from optexity_runner.errors import (
    PlaceholderError,
    RunEndingError,
    RunError,
    StepFailedError,
)
from optexity_runner.expressions import Expression, ExpressionEvaluationError, parse_expression
from optexity_runner.failures import first_line
from optexity_runner.result import utc_now
from optexity_runner.variables import LoopFrame, Scope
from schemas.nodes import AssertLocatorNode, ForLoopNode, IfElseNode, Node

if TYPE_CHECKING:
    from optexity_runner.interpreter import Interpreter

#: How long a locator loop's match count must hold still before the loop starts.
COUNT_STABLE_FOR = 1.0
#: The longest wait for that, after the first match: a list still growing then is looped
#: over as it is (and a ``loop_count_unsettled`` event says so).
COUNT_SETTLE_CAP = 10.0
_COUNT_POLL = 0.1

#: Failures ``on_error_in_loop`` never absorbs: the automation or a person ended the run, or
#: the run cannot work at all. Everything else a step raises is one iteration's failure.


@lru_cache(maxsize=1024)
def compiled_expression(text: str) -> Expression:
    """The parsed form of a condition or expression (already checked at load time)."""
    return parse_expression(text)


async def first_match(target: Locator, timeout: float) -> bool:
    """Whether ``target`` matches an element within ``timeout`` seconds (0: right now)."""
    if timeout <= 0:  # Playwright reads a timeout of 0 as "wait forever"
        return await target.count() > 0
    try:
        await target.first.wait_for(state="attached", timeout=timeout * 1000)
    except PlaywrightTimeoutError:
        return False
    return True


async def settled_count(target: Locator, timeout: float) -> tuple[int, bool]:
    """The number of matches once the list stops growing, and whether it did stop.

    Waits up to ``timeout`` seconds for a first match (none: 0), then until the count has
    held still for ``COUNT_STABLE_FOR`` seconds, at most ``COUNT_SETTLE_CAP`` seconds. A
    ``timeout`` of 0 counts at once, without waiting.
    """
    if timeout <= 0:
        return await target.count(), True
    if not await first_match(target, timeout):
        return 0, True
    loop = asyncio.get_running_loop()
    started = stable_since = loop.time()
    count = await target.count()
    while loop.time() - stable_since < COUNT_STABLE_FOR:
        if loop.time() - started >= COUNT_SETTLE_CAP:
            return count, False
        await asyncio.sleep(_COUNT_POLL)
        current = await target.count()
        if current != count:
            count, stable_since = current, loop.time()
    return count, True


class _FlowStep:
    """Timing and the record of one flow node, so each runner reads as its logic."""

    def __init__(
        self, interp: Interpreter, node: Node, index: str, iteration: tuple[int, ...], command: str
    ) -> None:
        self.interp, self.node, self.index, self.iteration = interp, node, index, iteration
        self.command = command
        self.started, self.t0 = utc_now(), time.perf_counter()

    def emit(self, event: str, **fields: Any) -> None:
        self.interp.run.store.emit(
            event, node_index=self.index, iteration=list(self.iteration), **fields
        )

    def finished(self, **fields: Any) -> None:
        self.interp.record(
            self.node, self.index, self.iteration, self.started, self.t0,
            command=self.command, **fields,
        )  # fmt: skip

    def failed(self, exc: BaseException) -> StepFailedError:
        """Record the node as failed; returns the error naming it, for ``raise ... from``."""
        error = StepFailedError(self.index, self.node.type, self.command, first_line(exc))
        self.finished(status="failed", error=error.cause)
        return error


async def run_for_loop(
    interp: Interpreter, node: ForLoopNode, index: str, scope: Scope, iteration: tuple[int, ...]
) -> None:
    """Run ``nodes`` once per value of ``variable_name`` or per match of ``locator``.

    A variable loop's length is that of its first variable (``"a, b"`` loops over ``a`` and
    ``b`` in parallel). A locator loop waits for the list to settle (``settled_count``) and
    counts once; ``{locator[index]}`` is the index-th match, bound afresh at each use. At most
    ``max_iterations``. ``reset_nodes`` run between iterations (also after a failed one that
    ``continue`` skips). ``on_error_in_loop``: ``raise`` fails the run, ``continue`` goes on
    with the next iteration, ``break`` ends the loop; a ``RunEndingError`` always
    propagates.
    """
    flow = _FlowStep(interp, node, index, iteration, node.locator or node.variable_name or "")
    try:
        count, frame_for = await _loop_source(interp, node, scope, flow)
    except (PlaceholderError, PlaywrightError) as exc:
        raise flow.failed(exc) from exc
    total = count if node.max_iterations is None else min(count, node.max_iterations)
    flow.emit("loop_started", count=count, iterations=total)
    failed: list[int] = []

    async def attempt(nodes: Sequence[Node], prefix: str, at: int) -> bool:
        inner, path = scope.enter(frame_for(at)), (*iteration, at)
        try:
            await interp.run_nodes(nodes, prefix, inner, path)
        except RunEndingError:
            raise
        except RunError as exc:
            failed.append(at)
            flow.emit(
                "loop_iteration_failed",
                loop_iteration=at,
                on_error=node.on_error_in_loop,
                error=first_line(exc),
            )
            if node.on_error_in_loop == "raise":
                raise
            return False
        return True

    ran, stopped = 0, False
    try:
        for at in range(total):
            ran += 1
            ok = await attempt(node.nodes, f"{index}.", at)
            if not ok and node.on_error_in_loop == "break":
                stopped = True
                break
            if node.reset_nodes and at < total - 1:
                ok = await attempt(node.reset_nodes, f"{index}.reset.", at)
                if not ok and node.on_error_in_loop == "break":
                    stopped = True
                    break
    except RunError as exc:
        flow.finished(status="failed", error=first_line(exc), iterations=ran)
        raise
    failures = sorted(set(failed))
    flow.finished(iterations=ran, failed_iterations=failures, stopped_early=stopped)


async def _loop_source(
    interp: Interpreter, node: ForLoopNode, scope: Scope, flow: _FlowStep
) -> tuple[int, Callable[[int], LoopFrame]]:
    """How many iterations the source offers, and the loop frame of iteration ``i``."""
    name = node.index_variable_name
    if node.locator is not None:
        expr = compiled_locator(node.locator)
        target = expr.bind(interp.run.tabs.current, scope)
        count, settled = await settled_count(target, node.locator_timeout)
        if not settled:
            flow.emit("loop_count_unsettled", count=count, waited_s=COUNT_SETTLE_CAP)
        return count, lambda i: LoopFrame(name, i, locator=expr)
    names = tuple(node.loop_variables)
    unknown = [n for n in names if not scope.variables.known(n)]
    if unknown:
        known = ", ".join(sorted(scope.variables.names())) or "none"
        raise PlaceholderError(f"loop over unknown variable {unknown[0]!r} (known: {known})")
    return len(scope.variables.lookup(names[0])), lambda i: LoopFrame(name, i, variables=names)


async def run_if_else(
    interp: Interpreter, node: IfElseNode, index: str, scope: Scope, iteration: tuple[int, ...]
) -> None:
    """Evaluate ``condition`` (the safe expression language, never ``eval``), then run
    ``if_nodes`` when it holds (Python truthiness), else ``else_nodes``.

    The node is recorded before its branch runs, with ``branch`` and ``result``. An unknown
    variable, an index out of range or a type mismatch fails the node, naming it.
    """
    flow = _FlowStep(interp, node, index, iteration, node.condition)
    try:
        value = compiled_expression(node.condition).evaluate(scope, scope)
    except (PlaceholderError, ExpressionEvaluationError) as exc:
        raise flow.failed(exc) from exc
    branch: Literal["if", "else"] = "if" if value else "else"
    flow.finished(branch=branch, result=bool(value))
    nodes = node.if_nodes if branch == "if" else node.else_nodes
    await interp.run_nodes(nodes, f"{index}.{branch}.", scope, iteration)


async def run_assert_locator(
    interp: Interpreter,
    node: AssertLocatorNode,
    index: str,
    scope: Scope,
    iteration: tuple[int, ...],
) -> None:
    """Store whether ``locator`` is visible (or hidden) within ``timeout`` seconds.

    ``to_be_visible`` holds when some match is visible; ``to_be_hidden`` when none is (no
    match counts as hidden). The result (``True``/``False``) goes to ``output_variable_name``
    when given and into the event; it never fails the run. A browser error while waiting
    counts as ``False`` (recorded as ``error``); only a placeholder error fails the node.
    """
    flow = _FlowStep(interp, node, index, iteration, node.locator)
    try:
        target = compiled_locator(node.locator).bind(interp.run.tabs.current, scope)
    except PlaceholderError as exc:
        raise flow.failed(exc) from exc
    visible = target.filter(visible=True)
    error: str | None = None
    try:
        if node.assertion == "to_be_visible":
            holds = await first_match(visible, node.timeout)
        else:
            holds = await _gone(visible, node.timeout)
    except PlaywrightError as exc:
        holds, error = False, first_line(exc)
    if node.output_variable_name is not None:
        interp.run.variables.set(node.output_variable_name, [holds])
    flow.finished(assertion=node.assertion, result=holds, wait_error=error)


async def _gone(target: Locator, timeout: float) -> bool:
    if timeout <= 0:
        return await target.count() == 0
    try:
        await target.first.wait_for(state="detached", timeout=timeout * 1000)
    except PlaywrightTimeoutError:
        return False
    return True
