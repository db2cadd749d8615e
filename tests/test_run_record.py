"""The run's record for interaction steps: result.json, events.jsonl, screenshots, trace,
and secrets kept out of all of them."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser
from support.net import closed_port
from support.runs import action_node, automation, events_of, run_data

from optexity_runner.settings import RunnerSettings

SECRET = "zz-Hunter2-secret-zz"


def secure_login(base_url: str, **top: Any) -> dict[str, Any]:
    parameters = {
        "input_parameters": {"username": ["alice"]},
        "secure_parameters": {"password": [{"env": "RECORD_TEST_PASSWORD"}]},
    }
    nodes = [
        action_node(
            "input_text", {"command": 'get_by_label("Username")', "input_text": "{username[0]}"}
        ),
        action_node(
            "input_text", {"command": 'get_by_label("Password")', "input_text": "{password[0]}"}
        ),
        action_node(
            "click_element", {"command": 'get_by_role("button", name="Sign in")'}, end_sleep_time=5
        ),
    ]
    return automation(f"{base_url}/login", nodes, parameters=parameters, **top)


def files_containing(folder: Path, needle: bytes) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.fixture(autouse=True)
def secret_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECORD_TEST_PASSWORD", SECRET)


async def test_result_and_events_of_a_successful_run(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    result = await run_data(
        secure_login(demo_site.base_url, take_final_screenshot=True), browser, settings
    )
    assert result.status == "success", result.error
    assert demo_site.last_login()["password_length"] == len(SECRET)
    run_dir = Path(result.run_dir)
    written = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    assert written["status"] == "success"
    assert [(n["index"], n["action"], n["status"]) for n in written["nodes"]] == [
        ("0", "input_text", "success"),
        ("1", "input_text", "success"),
        ("2", "click_element", "success"),
    ]
    assert written["nodes"][2]["command"] == 'get_by_role("button", name="Sign in")'
    assert all(n["duration_ms"] >= 0 and n["tries"] == 1 for n in written["nodes"])
    assert written["final_screenshot"]
    assert (run_dir / written["final_screenshot"]).exists()
    kinds = [e["event"] for e in events_of(result)]
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"
    assert kinds.count("node_started") == kinds.count("node_finished") == 3


async def test_secret_never_reaches_the_run_folder(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    data = secure_login(demo_site.base_url, take_final_screenshot=True)
    data["nodes"].append(
        {"type": "action_node", "fail_state_action": {"failure_message": "pw {password[0]}"}}
    )
    result = await run_data(data, browser, settings)
    assert result.status == "failed"
    assert files_containing(Path(result.run_dir), SECRET.encode()) == []
    written = json.loads((Path(result.run_dir) / "result.json").read_text(encoding="utf-8"))
    assert written["error"]["message"] == "pw [secret]"


async def test_returned_result_is_redacted(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    data = secure_login(demo_site.base_url)
    data["nodes"].append(
        {"type": "action_node", "fail_state_action": {"failure_message": "pw {password[0]}"}}
    )
    result = await run_data(data, browser, settings)
    assert result.error is not None
    assert SECRET not in result.model_dump_json()


async def test_trace_holds_no_secret(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    traced = settings.model_copy(update={"trace": True})
    result = await run_data(secure_login(demo_site.base_url), browser, traced)
    assert result.trace == "trace.zip"
    with zipfile.ZipFile(Path(result.run_dir) / "trace.zip") as archive:
        leaking = [name for name in archive.namelist() if SECRET.encode() in archive.read(name)]
    assert leaking == []


async def test_an_unreachable_start_url_says_so(browser: Browser, settings: RunnerSettings) -> None:
    data = automation(f"http://127.0.0.1:{closed_port()}/login", [])
    result = await run_data(data, browser, settings)
    assert result.error is not None
    assert result.error.type == "StartUrlError"
    assert "could not open the start URL" in result.error.message
    assert "ERR_CONNECTION_REFUSED" in result.error.message
