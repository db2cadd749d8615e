"""The top level of an automation file."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.base import StrictModel
from schemas.nodes import NodeList
from schemas.parameters import Parameters

#: Optexity fields this runner accepts but cannot honour, with the warning it prints.
UNHONOURED_FIELDS = {
    "browser_channel": "browser_channel: this runner drives Chromium only",
    "backend": "backend: this runner runs commands directly, it has no agent backend",
    "os_emulation": "os_emulation: not emulated, the browser reports the host OS",
    "remove_empty_nodes_in_axtree": "remove_empty_nodes_in_axtree: no accessibility tree is sent "
    "to a model here",
    "reuse_page_if_already_on_url": "reuse_page_if_already_on_url: every run starts a fresh page",
}


class Automation(StrictModel):
    """An Optexity automation: start URL, parameters, nodes (AUTOMATION_FORMAT.md)."""

    url: str
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
        warnings = []
        for name, message in UNHONOURED_FIELDS.items():
            value = getattr(self, name)
            if value is None or (name == "browser_channel" and value == "chromium"):
                continue
            if name == "remove_empty_nodes_in_axtree" or (
                name == "backend" and value == "browser-use"
            ):
                continue
            warnings.append(message)
        return warnings
