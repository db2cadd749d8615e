"""``human_in_loop_action``: hand the browser to a person until Done (shared/HITL.md)."""

from __future__ import annotations

from optexity_runner.context import StepContext
from optexity_runner.errors import RunError
from schemas import HumanInLoopAction


async def pause_for_person(action: HumanInLoopAction, step: StepContext) -> None:
    """Pause the run: notify the owner with a signed link, wait for Done, resume here."""
    if step.run.hitl is None:
        raise RunError("this run has no human-in-the-loop service (live view and mail) configured")
    await step.run.hitl.pause(step, action)
