"""Flow nodes (placeholder until the flow issue lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optexity_runner.errors import RunError
from optexity_runner.variables import Scope

if TYPE_CHECKING:
    from optexity_runner.interpreter import Interpreter


async def run_for_loop(interp: Interpreter, node: Any, index: str, scope: Scope, iteration: tuple[int, ...]) -> None:
    raise RunError("for_loop_node is not implemented yet")


async def run_if_else(interp: Interpreter, node: Any, index: str, scope: Scope, iteration: tuple[int, ...]) -> None:
    raise RunError("if_else_node is not implemented yet")


async def run_assert_locator(interp: Interpreter, node: Any, index: str, scope: Scope, iteration: tuple[int, ...]) -> None:
    raise RunError("assert_locator_node is not implemented yet")
