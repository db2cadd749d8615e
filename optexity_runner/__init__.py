"""optexity-runner: run Optexity browser automations locally, with a human-in-the-loop pause.

What users import is small: load a file, run it, read the result.
"""

from optexity_runner.errors import ExitCode, OptexityError
from optexity_runner.loader import load_automation, parse_automation
from optexity_runner.result import RunResult
from optexity_runner.runner import RunRequest, run_automation
from optexity_runner.settings import RunnerSettings

__all__ = [
    "ExitCode",
    "OptexityError",
    "RunRequest",
    "RunResult",
    "RunnerSettings",
    "load_automation",
    "parse_automation",
    "run_automation",
]
