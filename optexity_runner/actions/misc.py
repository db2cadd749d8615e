"""``misc_action`` and ``assertion_action`` (placeholder until the issue lands)."""

from __future__ import annotations

from optexity_runner.context import StepContext
from optexity_runner.errors import RunError
from schemas import AssertionAction, MiscAction


async def run_misc(action: MiscAction, step: StepContext) -> None:
    raise RunError("misc_action is not implemented yet")


async def run_assertion(action: AssertionAction, step: StepContext) -> None:
    raise RunError("assertion_action needs a model provider")
