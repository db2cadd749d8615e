"""The registry: JSON action key -> handler. Grep an automation's key to land here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from optexity_runner.actions import basic, extraction, human, misc
from optexity_runner.actions.interaction import run_interaction
from optexity_runner.context import StepContext


class ActionHandler(Protocol):
    """Runs one action of an ``action_node``; raises an ``OptexityError`` to fail the node."""

    async def __call__(self, action: Any, step: StepContext, /) -> None: ...


ACTION_HANDLERS: Mapping[str, ActionHandler] = {
    "interaction_action": run_interaction,
    "human_in_loop_action": human.pause_for_person,
    "sleep_action": basic.sleep,
    "fail_state_action": basic.fail_state,
    "extraction_action": extraction.extract,
    "misc_action": misc.run_misc,
    "assertion_action": misc.run_assertion,
}
