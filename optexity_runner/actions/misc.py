"""``misc_action`` (``set_variable``, ``count_locator``) and ``assertion_action``."""

from __future__ import annotations

from typing import Any

from optexity_runner.actions.extraction import assign, convert_answer, preview, record_output
from optexity_runner.actions.model_backed import ask_for_fields, require_provider
from optexity_runner.context import StepContext
from optexity_runner.errors import RunError, StepFailedError
from optexity_runner.flow import compiled_expression
from schemas import AssertionAction, MiscAction
from schemas.actions import CountLocator, SetVariable

#: Put before the automation's own words when asking a model to check a condition.
ASSERTION_PREAMBLE = (
    "Check whether the condition below holds on this web page. Set assertion_result to true "
    "if it does, false otherwise, and give a one-sentence assertion_reason.\n\nCondition: "
)


async def run_misc(action: MiscAction, step: StepContext) -> None:
    """Run the one ``misc_action`` that is set: ``set_variable`` or ``count_locator``."""
    if action.set_variable is not None:
        await set_variable(action.set_variable, step)
    elif action.count_locator is not None:
        await count_locator(action.count_locator, step)


async def set_variable(spec: SetVariable, step: StepContext) -> None:
    """Set variable ``name`` to ``value`` or to the value of ``expression``.

    A text ``value`` has its placeholders substituted (one pass). The ``expression`` uses the
    safe language of conditions, never ``eval`` (``claim_id[0]``, ``count[0] + 1``,
    ``len(rows)``). A list result becomes the variable's values; anything else a one-value
    list. The variable is not written to the run's outputs; an event records it.
    """
    value: Any
    if spec.expression is not None:
        value = compiled_expression(spec.expression).evaluate(step.scope, step.scope)
    else:
        value = step.text(spec.value) if isinstance(spec.value, str) else spec.value
    assign(step, spec.name, list(value) if isinstance(value, list | tuple) else [value])
    step.emit("variable_set", name=spec.name, value=preview(value))


async def count_locator(spec: CountLocator, step: StepContext) -> None:
    """Count the matches of ``command`` now (no waiting; 0 is an answer) into
    ``output_variable_name`` and the run's outputs."""
    count = await step.locator(spec.command).count()
    assign(step, spec.output_variable_name, [count])
    record_output(step, spec.output_variable_name, count)


async def run_assertion(action: AssertionAction, step: StepContext) -> None:
    """Ask the ``"llm"`` provider whether the page meets ``llm.extraction_instructions``.

    Optexity's assertion is LLM-only: without a provider this raises
    ``ProviderRequiredError`` (see ``model_backed`` to plug one in). The step fails with the
    model's reason when the condition does not hold. ``network_call`` is not supported.
    """
    provider = require_provider(step, "assertion_action")
    if action.llm is None:
        raise RunError(f"node {step.index}: assertion_action supports only `llm` assertions")
    instructions = action.llm.get("extraction_instructions")
    if not isinstance(instructions, str):
        raise ValueError("assertion_action.llm needs extraction_instructions (the condition)")
    fields = {"assertion_result": "bool", "assertion_reason": "str"}
    answer = await ask_for_fields(
        step, provider, ASSERTION_PREAMBLE + instructions, fields, with_screenshot=True
    )
    holds = convert_answer(answer.get("assertion_result"), "bool")
    reason = convert_answer(answer.get("assertion_reason"), "str") or "no reason given"
    step.emit("assertion_checked", result=holds, reason=reason)
    if holds is not True:
        raise StepFailedError(step.index, "assertion_action", None, f"assertion failed: {reason}")
