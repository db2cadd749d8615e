"""The one error tree of the runner.

Every class says who raises it and when, and maps to exactly one CLI exit code
(see ``ExitCode`` and the README). Messages quote the offending value and, for
input errors, its JSON path. Secrets never appear in a message: anything that
could carry a parameter value is redacted by the run store before it is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of ``optexity-runner``; documented in the README."""

    SUCCESS = 0
    STEP_FAILED = 1
    INVALID_INPUT = 2
    HUMAN_TIMEOUT = 3
    RUN_TIME_LIMIT = 4
    BROWSER_UNAVAILABLE = 5
    INTERRUPTED = 130


class OptexityError(Exception):
    """Base of every error the runner raises on purpose."""

    exit_code: ExitCode = ExitCode.STEP_FAILED
    #: The node being run when the error was raised (set by the interpreter), e.g. ``"3"``.
    node_index: str | None = None

    @property
    def kind(self) -> str:
        """The name recorded as ``error.type`` in ``result.json``."""
        return type(self).__name__


# --- Input errors: raised while loading, before any browser starts (exit 2) ---------------


@dataclass(frozen=True)
class InputIssue:
    """One problem in an automation file: where (JSON path) and what was expected."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidAutomationError(OptexityError):
    """Raised by the loader when a file is not JSON or does not match the format."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, source: str, issues: list[InputIssue]) -> None:
        self.source = source
        self.issues = issues
        lines = "\n".join(f"  {issue}" for issue in issues)
        noun = "problem" if len(issues) == 1 else "problems"
        super().__init__(f"{source}: {len(issues)} {noun}\n{lines}")


class InvalidParameterError(OptexityError):
    """Raised by the CLI for a malformed ``--param`` / ``--params-file`` value."""

    exit_code = ExitCode.INVALID_INPUT


class SourceSyntaxError(OptexityError, ValueError):
    """An expression in the file (a locator or a condition) outside its language.

    Raised at load time; quotes the expression with a pointer at the 1-based column of the
    offending part. A ``ValueError`` so that pydantic reports it with its JSON path.
    """

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, expression: str, column: int, reason: str) -> None:
        self.expression = expression
        self.column = column
        self.reason = reason
        pointer = " " * (column - 1) + "^"
        super().__init__(f"{reason} at column {column}\n    {expression}\n    {pointer}")


class LocatorSyntaxError(SourceSyntaxError):
    """Raised by ``locators.parse_locator`` for a command outside the locator whitelist."""


class ExpressionSyntaxError(SourceSyntaxError):
    """Raised by ``expressions.parse_expression`` for a condition outside the safe language
    (``if_else_node.condition``, ``set_variable.expression``)."""


# --- Run errors: raised by the interpreter and handlers (exit 1 unless stated) ------------


class RunError(OptexityError):
    """Base of errors that end a run after the browser started."""


class RunEndingError(RunError):
    """A failure no policy absorbs: never retried (``max_retries``), never skipped by
    ``on_error_in_loop: continue | break``. A person was asked, the automation said so, the
    time is up, or a capability is missing."""


class PlaceholderError(RunError):
    """Raised during substitution when ``{name[i]}`` names an unknown variable or index."""


class StepFailedError(RunError):
    """Raised by the interpreter when a node fails after all its tries.

    Carries the node index (a path such as ``3`` or ``5.2``), the action, the locator
    command if any, and keeps the underlying cause in ``__cause__``.
    """

    def __init__(self, node_index: str, action: str, command: str | None, cause: str) -> None:
        self.node_index = node_index
        self.action = action
        self.command = command
        self.cause = cause
        where = f"node {node_index} ({action}"
        where += f" {command})" if command else ")"
        super().__init__(f"{where}: {cause}")


class StartUrlError(RunError):
    """Raised by the runner when the automation's ``url`` cannot be opened."""


class UploadNotAllowedError(RunError):
    """Raised by ``upload_file`` for a ``file_path`` outside the allowed folders."""


class FailStateError(RunEndingError):
    """Raised by the ``fail_state_action`` handler with the automation's own message."""


class ExpectedDownloadsError(RunError):
    """Raised after the nodes when fewer files were downloaded than ``expected_downloads``."""


class ProviderRequiredError(RunEndingError):
    """Raised when a model-backed feature runs without a configured provider."""


class HumanInLoopRejectedException(RunEndingError):
    """Raised by the pause when the person pressed "I can't do this" (with their reason)."""


class HumanInLoopTimeoutException(RunEndingError):
    """Raised by the pause when no Done arrived before its deadline (exit 3).

    ``limit`` says which limit ended it: ``max_wait_time`` or ``run_time_limit``.
    """

    exit_code = ExitCode.HUMAN_TIMEOUT

    def __init__(self, message: str, limit: str = "max_wait_time") -> None:
        self.limit = limit
        super().__init__(message)


class RunTimeLimitExceeded(RunEndingError):
    """Raised by the interpreter when the run's hard time limit passes (exit 4)."""

    exit_code = ExitCode.RUN_TIME_LIMIT


class BrowserUnavailableError(OptexityError):
    """Raised by ``browser.launch_browser`` when no Chromium is found or it fails to start."""

    exit_code = ExitCode.BROWSER_UNAVAILABLE
