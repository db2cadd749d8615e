"""``interaction_action`` and its sub-actions (AUTOMATION_FORMAT.md, "interaction_action")."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from schemas.base import StrictModel, exactly_one


def _check_locator(command: str) -> str:
    # Imported here: the locator language lives in the runner; schemas only borrow the parser
    # so that a bad command fails at load time with its JSON path.
    from optexity_runner.locators import parse_locator

    parse_locator(command)
    return command


LocatorCommand = Annotated[str, AfterValidator(_check_locator)]


def _check_url(url: str) -> str:
    # Only literal URLs can be checked here; substituted ones are checked when used.
    from optexity_runner.urls import scheme_problem

    problem = None if "{" in url else scheme_problem(url)
    if problem:
        raise ValueError(problem)
    return url


#: A URL the run may open: http(s), relative, or ``about:blank`` (never ``javascript:``).
SafeUrl = Annotated[str, AfterValidator(_check_url)]

_NAMED_KEYS = {
    "enter": "Enter", "return": "Enter", "tab": "Tab", "esc": "Escape", "escape": "Escape",
    "delete": "Delete", "del": "Delete", "backspace": "Backspace", "space": "Space",
    "ctrl": "Control", "control": "Control", "alt": "Alt", "option": "Alt", "shift": "Shift",
    "meta": "Meta", "cmd": "Meta", "command": "Meta", "up": "ArrowUp", "down": "ArrowDown",
    "left": "ArrowLeft", "right": "ArrowRight", "arrowup": "ArrowUp", "arrowdown": "ArrowDown",
    "arrowleft": "ArrowLeft", "arrowright": "ArrowRight", "home": "Home", "end": "End",
    "pageup": "PageUp", "pagedown": "PageDown", "insert": "Insert",
    **{f"f{n}": f"F{n}" for n in range(1, 13)},
}  # fmt: skip


def normalize_key(raw: str) -> str:
    """A key name as Playwright's ``keyboard.press`` wants it (``ctrl+a`` -> ``Control+a``).

    Case-insensitive for named keys; a single character is kept as is. ``ValueError``
    names the part that is not a key.
    """
    parts = [p.strip() for p in re.split(r"\s*\+\s*", raw.strip())] if raw.strip() != "+" else ["+"]
    out = []
    for part in parts:
        if len(part) == 1:
            out.append(part)
        elif part.lower() in _NAMED_KEYS:
            out.append(_NAMED_KEYS[part.lower()])
        else:
            raise ValueError(f"{part!r} is not a key name (examples: Enter, tab, esc, ctrl+a, F5)")
    return "+".join(out)


class BaseAction(StrictModel):
    """Fields every element sub-action shares."""

    command: LocatorCommand | None = None
    xpath: str | None = None
    prompt_instructions: str | None = None
    skip_prompt: bool = False
    skip_command: bool = False
    assert_locator_presence: bool = False

    @model_validator(mode="after")
    def _has_target(self) -> BaseAction:
        if self.skip_command:
            raise ValueError(
                "skip_command hands the step to an LLM in Optexity; this runner has no model "
                "provider configured, so give a `command` instead"
            )
        if self.command is None and self.xpath is None:
            raise ValueError('needs a `command` (a locator such as get_by_label("Email"))')
        if self.assert_locator_presence and self.command is None:
            raise ValueError("assert_locator_presence needs a `command`")
        return self

    @property
    def optional(self) -> bool:
        """A step Optexity would hand to its LLM fallback: here it is skipped if it fails."""
        return self.skip_prompt and not self.assert_locator_presence

    @property
    def target(self) -> str:
        """The locator text shown in logs: the command, or ``xpath=...``."""
        return self.command if self.command is not None else f"xpath={self.xpath}"


class MouseDeviation(StrictModel):
    x: float = 0.0
    y: float = 0.0


class ClickElement(BaseAction):
    double_click: bool = False
    button: Literal["left", "right", "middle"] = "left"
    force: bool = False
    mouse_click: bool = False
    mouse_click_deviation: MouseDeviation | None = None
    expect_download: bool = False
    download_filename: str | None = None
    download_metadata: dict[str, Any] | None = None


class InputText(BaseAction):
    input_text: str | None = None
    is_slider: bool = False
    fill_or_type: Literal["fill", "type", "key_press"] = "fill"
    press_enter: bool = False


class SelectOption(BaseAction):
    select_values: list[str] = Field(min_length=1)
    expect_download: bool = False
    download_filename: str | None = None


class Check(BaseAction):
    pass


class Uncheck(BaseAction):
    pass


class Hover(BaseAction):
    pass


class UploadFile(BaseAction):
    file_path: str | None = None
    file_url: SafeUrl | None = None

    @model_validator(mode="after")
    def _one_source(self) -> UploadFile:
        exactly_one(self, ("file_path", "file_url"), "upload_file")
        return self


class GoToUrl(StrictModel):
    url: SafeUrl
    new_tab: bool = False


class GoBack(StrictModel):
    pass


class SwitchTab(StrictModel):
    tab_index: int


class CloseCurrentTab(StrictModel):
    pass


class CloseAllButLastTab(StrictModel):
    pass


class CloseTabsUntil(StrictModel):
    matching_url: str | None = None
    #: Close the newest tabs until this one is the last (Optexity loops forever on -1).
    tab_index: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CloseTabsUntil:
        exactly_one(self, ("matching_url", "tab_index"), "close_tabs_until")
        return self


class Scroll(StrictModel):
    down: bool = True
    amount: int = -1
    prompt_instructions: str | None = None

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: int) -> int:
        if value < -1:
            raise ValueError("amount is -1 (to the end) or a number of pixels >= 0")
        return value


class KeyPress(StrictModel):
    type: str | list[str]

    @field_validator("type")
    @classmethod
    def _keys(cls, value: str | list[str]) -> str | list[str]:
        keys = [value] if isinstance(value, str) else value
        if not keys:
            raise ValueError("give at least one key")
        for key in keys:
            normalize_key(key)
        return value

    @property
    def keys(self) -> list[str]:
        """The keys to press, in order, normalised for Playwright."""
        raw = [self.type] if isinstance(self.type, str) else self.type
        return [normalize_key(key) for key in raw]


class DownloadUrlAsPdf(StrictModel):
    url: SafeUrl | None = None
    download_filename: str | None = None


INTERACTION_KINDS = (
    "click_element", "input_text", "select_option", "check", "uncheck", "hover",
    "upload_file", "go_to_url", "go_back", "switch_tab", "close_current_tab",
    "close_all_but_last_tab", "close_tabs_until", "scroll", "key_press", "download_url_as_pdf",
)  # fmt: skip

_UNSUPPORTED = {
    "agentic_task": "agentic_task runs an LLM agent in Optexity's cloud; "
    "it has no offline equivalent",
    "close_overlay_popup": "close_overlay_popup is an LLM agent in Optexity; "
    "use a click_element on the popup's close button instead",
}


class InteractionAction(StrictModel):
    """Exactly one sub-action, retried ``max_tries`` times."""

    unsupported_keys: ClassVar[dict[str, str]] = _UNSUPPORTED

    max_tries: Annotated[int, Field(ge=1, le=100)] = 10
    max_timeout_seconds_per_try: Annotated[float, Field(gt=0, le=60)] = 1.0
    click_element: ClickElement | None = None
    input_text: InputText | None = None
    select_option: SelectOption | None = None
    check: Check | None = None
    uncheck: Uncheck | None = None
    hover: Hover | None = None
    upload_file: UploadFile | None = None
    go_to_url: GoToUrl | None = None
    go_back: GoBack | None = None
    switch_tab: SwitchTab | None = None
    close_current_tab: CloseCurrentTab | None = None
    close_all_but_last_tab: CloseAllButLastTab | None = None
    close_tabs_until: CloseTabsUntil | None = None
    scroll: Scroll | None = None
    key_press: KeyPress | None = None
    download_url_as_pdf: DownloadUrlAsPdf | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> InteractionAction:
        exactly_one(self, INTERACTION_KINDS, "interaction_action")
        return self

    @property
    def kind(self) -> str:
        """The JSON key of the sub-action that is set."""
        return next(k for k in INTERACTION_KINDS if getattr(self, k) is not None)

    @property
    def sub_action(self) -> StrictModel:
        """The sub-action model that is set."""
        value: StrictModel = getattr(self, self.kind)
        return value
