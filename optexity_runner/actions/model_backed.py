"""Model-backed steps: how LLM extraction and ``assertion_action`` reach a model provider.

The runner ships no model and needs none: every feature runs and is tested without one.
Files that use a model-backed kind (``extraction_action.llm`` / ``pdf`` / ``vision``,
``assertion_action``) are refused by the loader (exit 2) unless a provider name is passed, and
at run time such a step fails with ``ProviderRequiredError`` when no ``"llm"`` provider is
registered. A locator extraction's ``extraction_instructions`` fallback also asks the
provider; without one the value stays ``None`` and a ``model_fallback_unavailable`` event
says so.

To plug a model in, implement ``optexity_runner.context.ModelProvider`` and register it under
``"llm"`` both when loading and when running::

    class MyProvider:
        name = "my-model"

        async def complete(self, prompt: str, *, screenshot: bytes | None = None) -> str:
            ...  # call the model; return its text answer (here: one JSON object)

    automation = load_automation(path, providers=["llm"])
    request = RunRequest(automation=automation, ..., providers={"llm": MyProvider()})
    result = await run_automation(request, browser)

The prompt holds the automation's instructions, the fields wanted with their types, and the
page's visible text (``PAGE_TEXT_LIMIT`` characters at most); a screenshot is attached when the
step's ``source`` asks for one. The answer must contain one JSON object; its fields are then
converted by the same fixed type table as locator extraction (``extraction.convert``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from optexity_runner.context import ModelProvider, StepContext
from optexity_runner.errors import ProviderRequiredError

#: The key of ``RunContext.providers`` model-backed steps use (the loader checks the same).
LLM_PROVIDER = "llm"
#: Most characters of page text sent with a prompt.
PAGE_TEXT_LIMIT = 20_000
_PAGE_TEXT_TIMEOUT_MS = 5_000


def require_provider(step: StepContext, feature: str) -> ModelProvider:
    """The run's ``"llm"`` provider, or ``ProviderRequiredError`` naming ``feature``."""
    provider = step.run.providers.get(LLM_PROVIDER)
    if provider is None:
        raise ProviderRequiredError(
            f"node {step.index}: {feature} needs a model provider (LLM); none is configured "
            "in this runner (see optexity_runner.actions.model_backed)"
        )
    return provider


async def ask_for_fields(
    step: StepContext,
    provider: ModelProvider,
    instructions: str,
    fields: Mapping[str, str],
    *,
    with_screenshot: bool,
) -> dict[str, Any]:
    """Ask ``provider`` for a JSON object with ``fields`` (name -> type) about the page."""
    page_text = await step.page.locator("body").inner_text(timeout=_PAGE_TEXT_TIMEOUT_MS)
    wanted = "\n".join(f"- {name}: {kind}" for name, kind in fields.items())
    prompt = (
        f"{step.text(instructions)}\n\n"
        f"Answer with one JSON object with exactly these fields (use null when unknown):\n"
        f"{wanted}\n\n"
        f"Page URL: {step.page.url}\n"
        f"Page text:\n{page_text[:PAGE_TEXT_LIMIT]}"
    )
    screenshot = await step.page.screenshot() if with_screenshot else None
    answer = await provider.complete(prompt, screenshot=screenshot)
    step.emit("model_answered", provider=provider.name, chars=len(answer))
    return parse_json_object(answer)


def parse_json_object(answer: str) -> dict[str, Any]:
    """The first JSON object in a model's answer (models like to wrap it in prose or ```)."""
    decoder = json.JSONDecoder()
    for start, char in enumerate(answer):
        if char != "{":
            continue
        try:
            value, _ = decoder.raw_decode(answer, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise ValueError(f"the model's answer holds no JSON object: {answer[:80]!r}")
