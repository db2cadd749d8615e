"""What a file or a parameter must never make the runner do: open javascript:/file: URLs,
upload files from outside the allowed folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser
from support.runs import action_node, automation, run_data

from optexity_runner.errors import InvalidAutomationError
from optexity_runner.loader import parse_automation
from optexity_runner.settings import RunnerSettings

HOSTILE_URLS = [
    "javascript:document.title='pwned'",
    "JavaScript:void(document.title='pwned')",
    "file:///etc/hostname",
    "data:text/html,<script>document.title='pwned'</script>",
    "chrome://version",
]


def with_param(url: str, nodes: list[dict[str, Any]], value: str) -> dict[str, Any]:
    return automation(url, nodes, parameters={"input_parameters": {"target": [value]}})


@pytest.mark.parametrize("hostile", HOSTILE_URLS)
async def test_go_to_url_refuses_other_schemes_from_a_parameter(
    browser: Browser, settings: RunnerSettings, test_site: str, hostile: str
) -> None:
    nodes = [action_node("go_to_url", {"url": "{target[0]}"})]
    result = await run_data(
        with_param(f"{test_site}/upload.html", nodes, hostile), browser, settings
    )
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.type == "UnsafeUrlError"
    assert result.error.node_index == "0"
    assert "only http and https" in result.error.message


@pytest.mark.parametrize("hostile", HOSTILE_URLS[:3])
async def test_start_url_and_file_url_refuse_other_schemes(
    browser: Browser, settings: RunnerSettings, test_site: str, hostile: str
) -> None:
    start = await run_data(with_param("{target[0]}", [], hostile), browser, settings)
    assert start.error is not None
    assert start.error.type == "UnsafeUrlError"
    upload = action_node(
        "upload_file",
        {"command": 'get_by_label("Attachment")', "file_url": "{target[0]}"},
        max_tries=1,
    )
    fetched = await run_data(
        with_param(f"{test_site}/upload.html", [upload], hostile), browser, settings
    )
    assert fetched.error is not None
    assert "only http and https" in fetched.error.message


@pytest.mark.parametrize("field", ["url", "go_to_url", "download_url_as_pdf", "file_url"])
def test_literal_unsafe_urls_are_rejected_at_load(field: str) -> None:
    bad = "javascript:alert(1)"
    nodes: list[dict[str, Any]] = []
    url = "http://127.0.0.1/"
    if field == "url":
        url = bad
    elif field == "file_url":
        nodes = [action_node("upload_file", {"command": 'get_by_label("A")', "file_url": bad})]
    else:
        nodes = [action_node(field, {"url": bad})]
    with pytest.raises(InvalidAutomationError, match="javascript: URLs are not opened"):
        parse_automation(__import__("json").dumps(automation(url, nodes)))


async def test_upload_outside_the_automation_folder_is_refused(
    browser: Browser, settings: RunnerSettings, test_site: str, tmp_path: Path
) -> None:
    source = tmp_path / "automations"
    source.mkdir()
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "id_rsa").write_text("PRIVATE KEY", encoding="utf-8")
    for file_path in ("../private/id_rsa", str(outside / "id_rsa"), "/etc/hostname"):
        upload = action_node(
            "upload_file", {"command": 'get_by_label("Attachment")', "file_path": file_path}
        )
        data = automation(f"{test_site}/upload.html", [upload])
        result = await run_data(data, browser, settings, source_dir=source)
        assert result.status == "failed", file_path
        assert result.error is not None
        assert result.error.type == "UploadNotAllowedError"
        assert "--upload-dir" in result.error.message


async def test_upload_dir_allows_a_folder(
    browser: Browser, settings: RunnerSettings, test_site: str, tmp_path: Path
) -> None:
    source = tmp_path / "automations"
    source.mkdir()
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "claim.txt").write_text("claim", encoding="utf-8")
    upload = action_node(
        "upload_file", {"command": 'get_by_label("Attachment")', "file_path": "../shared/claim.txt"}
    )
    read = {
        "type": "action_node",
        "extraction_action": {
            "locator": {
                "command": 'locator("#chosen")',
                "output_variable_name": "chosen",
                "extraction_format": {"chosen": "str"},
            }
        },
        "end_sleep_time": 0,
    }
    data = automation(f"{test_site}/upload.html", [upload, read])
    allowed = settings.model_copy(update={"upload_dirs": [shared]})
    result = await run_data(data, browser, allowed, source_dir=source)
    assert result.status == "success", result.error
    assert result.outputs["chosen"] == "claim.txt"
