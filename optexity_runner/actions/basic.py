"""``sleep_action`` and ``fail_state_action``."""

from __future__ import annotations

import asyncio

from optexity_runner.context import StepContext
from optexity_runner.errors import FailStateError
from schemas import FailStateAction, SleepAction


async def sleep(action: SleepAction, step: StepContext) -> None:
    """Wait ``sleep_time`` seconds (the run's time limit still applies)."""
    await asyncio.sleep(action.sleep_time)


async def fail_state(action: FailStateAction, step: StepContext) -> None:
    """End the run as failed with the automation's message (placeholders substituted)."""
    raise FailStateError(step.text(action.failure_message))
