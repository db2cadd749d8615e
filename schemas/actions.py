"""The actions of an ``action_node`` other than ``interaction_action``."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from schemas.base import StrictModel, exactly_one
from schemas.interaction import LocatorCommand

#: The hard limit of one pause, from Optexity's documentation ("< 600").
MAX_WAIT_LIMIT = 600.0

#: Types an ``extraction_format`` may name, read from this table, never evaluated.
EXTRACTION_TYPES = ("str", "int", "float", "bool", "list[str]")


def _check_expression(text: str) -> str:
    from optexity_runner.expressions import parse_expression

    parse_expression(text)
    return text


SafeExpression = Annotated[str, AfterValidator(_check_expression)]


class HumanInLoopAction(StrictModel):
    """Pause for a person (shared/HITL.md). ``instructions`` and ``notify`` are ours."""

    max_wait_time: float
    instructions: str | None = None
    prompt_instructions: str | None = None
    notify: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] | None = None

    @field_validator("max_wait_time")
    @classmethod
    def _below_hard_limit(cls, value: float) -> float:
        if not 0 < value < MAX_WAIT_LIMIT:
            raise ValueError(
                f"max_wait_time must be more than 0 and less than {MAX_WAIT_LIMIT:g} seconds: "
                "a pause is capped at 10 minutes (Optexity kills a run that waits longer), "
                f"got {value:g}"
            )
        return value

    @property
    def text_for_person(self) -> str | None:
        """What the person is asked to do, if the automation says."""
        parts = [p for p in (self.instructions, self.prompt_instructions) if p]
        return "\n".join(parts) if parts else None


class SleepAction(StrictModel):
    sleep_time: Annotated[float, Field(ge=0, le=600)]


class FailStateAction(StrictModel):
    failure_message: str = "Automation completed at one of the failure states."


class LocatorExtraction(StrictModel):
    """Read text (or an attribute, or every match as a list) from the element(s) found."""

    command: LocatorCommand
    output_variable_name: str | None = None
    extraction_format: dict[str, str]
    attribute: str | None = None
    timeout: Annotated[float, Field(ge=0, le=60)] = 5.0
    """Seconds to wait for a first match; then the value is ``None`` (our extension)."""
    extraction_instructions: str | None = None
    llm_provider: str | None = None
    llm_model_name: str | None = None

    @model_validator(mode="after")
    def _format(self) -> LocatorExtraction:
        for name, kind in self.extraction_format.items():
            if kind not in EXTRACTION_TYPES:
                allowed = ", ".join(EXTRACTION_TYPES)
                raise ValueError(f"extraction_format[{name!r}] is {kind!r}; allowed: {allowed}")
        if self.output_variable_name is None:
            if len(self.extraction_format) != 1:
                raise ValueError(
                    "without output_variable_name, extraction_format must have exactly one field"
                )
        elif self.output_variable_name not in self.extraction_format:
            raise ValueError(
                f"output_variable_name {self.output_variable_name!r} is not a key of "
                "extraction_format"
            )
        return self


class StateExtraction(StrictModel):
    """The current page's URL and title."""

    output_variable_name: str | None = None


class ScreenshotExtraction(StrictModel):
    filename: str
    full_page: bool = True


_NEEDS_PROVIDER = "needs a model provider (LLM); none is configured in this runner"


class ExtractionAction(StrictModel):
    """Exactly one extraction kind; the model-backed kinds need a provider."""

    unsupported_keys: ClassVar[dict[str, str]] = {
        "python_script": "python_script would run code from the automation; this runner never "
        "executes code from a file",
        "network_call": "network_call extraction is not supported yet",
        "api_call": "api_call extraction is not supported yet",
        "two_fa_action": "two_fa_action needs Optexity's cloud inbox; use a human_in_loop_action "
        "or a totp secure parameter",
        "ocr_coordinates": f"ocr_coordinates {_NEEDS_PROVIDER}",
    }
    #: Keys whose content is handed to a model provider.
    provider_keys: ClassVar[tuple[str, ...]] = ("llm", "pdf", "vision")

    unique_identifier: str | None = None
    allow_none: bool = False
    locator: LocatorExtraction | None = None
    state: StateExtraction | None = None
    screenshot: ScreenshotExtraction | None = None
    llm: dict[str, Any] | None = None
    pdf: dict[str, Any] | None = None
    vision: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ExtractionAction:
        exactly_one(
            self, ("locator", "state", "screenshot", *self.provider_keys), "extraction_action"
        )
        return self


class AssertionAction(StrictModel):
    """Optexity's assertion is LLM-only: accepted by the schema, rejected without a provider."""

    provider_keys: ClassVar[tuple[str, ...]] = ("llm",)

    llm: dict[str, Any] | None = None
    network_call: dict[str, Any] | None = None


class SetVariable(StrictModel):
    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    value: str | int | float | bool | None = None
    expression: SafeExpression | None = None

    @model_validator(mode="after")
    def _one(self) -> SetVariable:
        if (self.value is None) == (self.expression is None):
            raise ValueError("set_variable needs exactly one of `value` or `expression`")
        return self


class CountLocator(StrictModel):
    command: LocatorCommand
    output_variable_name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class MiscAction(StrictModel):
    set_variable: SetVariable | None = None
    count_locator: CountLocator | None = None

    @model_validator(mode="after")
    def _one(self) -> MiscAction:
        exactly_one(self, ("set_variable", "count_locator"), "misc_action")
        return self


AssertionKind = Literal["to_be_visible", "to_be_hidden"]
