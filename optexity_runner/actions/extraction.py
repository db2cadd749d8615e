"""``extraction_action`` (placeholder until the extraction issue lands)."""

from __future__ import annotations

from optexity_runner.context import StepContext
from optexity_runner.errors import RunError
from schemas import ExtractionAction


async def extract(action: ExtractionAction, step: StepContext) -> None:
    raise RunError("extraction_action is not implemented yet")
