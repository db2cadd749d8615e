"""The top level of an automation file."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from schemas.base import StrictModel
from schemas.interaction import SafeUrl
from schemas.nodes import NodeList
from schemas.parameters import Parameters

#: Optexity fields this runner accepts but cannot honour, with the warning it prints.
UNHONOURED_FIELDS = {
    "browser_channel": "browser_channel: this runner drives Chromium only",
    "backend": "backend: this runner runs commands directly, it has no agent backend",
    "os_emulation": "os_emulation: not emulated, the browser reports the host OS",
    "reuse_page_if_already_on_url": "reuse_page_if_already_on_url: every run starts a fresh page",
}

#: Values of those fields that need no warning: unset, Optexity's default, or what we do anyway.
HONOURED_VALUES: dict[str, tuple[object, ...]] = {
    "browser_channel": (None, "chromium"),
    "backend": (None, "browser-use"),
    "os_emulation": (None,),
    "reuse_page_if_already_on_url": (None, False),
}


class Automation(StrictModel):
    """An Optexity automation: start URL, parameters, nodes (AUTOMATION_FORMAT.md)."""

    #: ``$schema`` lets an editor find ``schemas/automation.schema.json``.
    ignored_keys: ClassVar[frozenset[str]] = frozenset({"$schema"})

    url: SafeUrl
    parameters: Parameters
    nodes: NodeList
    post_processing_nodes: NodeList = Field(default_factory=list)
    max_retries: Annotated[int, Field(ge=0, le=10)] = 0
    expected_downloads: Annotated[int, Field(ge=0)] = 0
    take_final_screenshot: bool = True
    automation_description: str | None = None
    automation_endpoint: str | None = None
    browser_channel: Literal["chromium", "chrome", "rdp"] | None = None
    backend: Literal["browser-use", "computer-vision"] | None = None
    os_emulation: Literal["windows", "linux"] | None = None
    allow_cookies: bool | None = None
    remove_empty_nodes_in_axtree: bool | None = None
    reuse_page_if_already_on_url: bool | None = None

    def unhonoured_field_warnings(self) -> list[str]:
        """One warning per Optexity field set to something this runner cannot honour."""
        return [
            message
            for name, message in UNHONOURED_FIELDS.items()
            if getattr(self, name) not in HONOURED_VALUES[name]
        ]
