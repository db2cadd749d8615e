"""Element sub-actions of ``interaction_action`` in real Chromium, through the whole runner.

Each test runs a small automation against the demo site or ``tests/site/`` and then checks
what the page (``ObservingBrowser``) or the demo server (``demo_site.last_claim()``) really saw.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from support.net import fetch
from support.paths import TEST_SITE
from support.runs import FAST, ObservingBrowser, events_of, failed_cause, node, run_nodes

from optexity_runner.actions import downloads
from optexity_runner.settings import RunnerSettings


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- click_element ----------------------------------------------------------------------

TARGET = 'get_by_role("button", name="Target")'


async def test_click_clicks_once(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    result = await run_nodes(
        observed, settings, f"{test_site}/clicks.html", node("click_element", {"command": TARGET})
    )
    assert result.status == "success"
    values = observed.page.values
    assert (values["click-count"], values["dblclick-count"], values["last-button"]) == (
        "1",
        "0",
        "0",
    )


async def test_double_click_is_one_dblclick(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    body = {"command": TARGET, "double_click": True}
    result = await run_nodes(
        observed, settings, f"{test_site}/clicks.html", node("click_element", body)
    )
    assert result.status == "success"
    assert (observed.page.values["dblclick-count"], observed.page.values["click-count"]) == (
        "1",
        "2",
    )


@pytest.mark.parametrize(
    ("button", "counter", "code"), [("right", "context-count", "2"), ("middle", "aux-count", "1")]
)
async def test_click_with_other_buttons(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    test_site: str,
    button: str,
    counter: str,
    code: str,
) -> None:
    body = {"command": TARGET, "button": button}
    result = await run_nodes(
        observed, settings, f"{test_site}/clicks.html", node("click_element", body)
    )
    assert result.status == "success"
    values = observed.page.values
    assert (values[counter], values["last-button"], values["click-count"]) == ("1", code, "0")


@pytest.mark.parametrize(("deviation", "offset"), [(None, "0,0"), ({"x": 30, "y": -20}, "30,-20")])
async def test_mouse_click_lands_once_at_centre_plus_deviation(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    test_site: str,
    deviation: dict[str, int] | None,
    offset: str,
) -> None:
    # Optexity's mouse_click clicks twice; the target sits below the fold, so the click
    # only lands if the element is scrolled into view before its box is measured.
    body: dict[str, Any] = {"command": TARGET, "mouse_click": True}
    if deviation is not None:
        body["mouse_click_deviation"] = deviation
    result = await run_nodes(
        observed, settings, f"{test_site}/clicks.html", node("click_element", body)
    )
    assert result.status == "success"
    assert observed.page.values["click-count"] == "1"
    assert observed.page.values["offset"] == offset


@pytest.mark.parametrize(
    ("filename", "saved"), [("my export.csv", "my export.csv"), ("report", "report.csv")]
)
async def test_click_with_expect_download_saves_into_the_run_folder(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str, filename: str, saved: str
) -> None:
    body = {
        "command": 'get_by_role("link", name="Export CSV")',
        "expect_download": True,
        "download_filename": filename,
        "download_metadata": {"kind": "export"},
    }
    result = await run_nodes(
        observed,
        settings,
        f"{test_site}/clicks.html",
        node("click_element", body),
        expected_downloads=1,
    )
    assert result.status == "success", result.error
    path = Path(result.run_dir) / "downloads" / saved
    assert path.read_bytes() == (TEST_SITE / "data.csv").read_bytes()
    [record] = result.downloads
    assert (record.path, record.suggested_filename) == (f"downloads/{saved}", "export.csv")
    assert (record.node_index, record.metadata) == ("0", {"kind": "export"})
    assert any(e["event"] == "download_saved" for e in events_of(result))


async def test_click_that_starts_no_download_fails_without_clicking_again(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    test_site: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(downloads, "DOWNLOAD_TIMEOUT_MS", 400)
    body = {"command": 'get_by_role("button", name="Nothing to download")', "expect_download": True}
    result = await run_nodes(
        observed, settings, f"{test_site}/clicks.html", node("click_element", body, max_tries=3)
    )
    cause = failed_cause(result)
    assert "no download started within 0.4 s" in cause
    assert result.nodes[0].tries == 1  # a retry would click the button again


# --- input_text --------------------------------------------------------------------------

QUERY = 'get_by_label("Query")'
TRICKY = """He said "don't" \\ C:\\temp\\new 'x' {other[0]} end"""


@pytest.mark.parametrize(("mode", "keydowns"), [("fill", 0), ("type", 5), ("key_press", 5)])
async def test_input_text_modes(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str, mode: str, keydowns: int
) -> None:
    body = {"command": QUERY, "input_text": "hello", "fill_or_type": mode}
    result = await run_nodes(
        observed, settings, f"{test_site}/inputs.html", node("input_text", body)
    )
    assert result.status == "success", result.error
    values = observed.page.values
    assert values["query"] == "hello"
    assert int(values["query-keydowns"]) == keydowns  # fill sets the value; the others type keys
    assert values["submit-count"] == "0"


async def test_input_text_press_enter_submits(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    body = {"command": QUERY, "input_text": "claims 2025", "press_enter": True}
    result = await run_nodes(
        observed, settings, f"{test_site}/inputs.html", node("input_text", body)
    )
    assert result.status == "success", result.error
    assert (observed.page.values["submitted"], observed.page.values["submit-count"]) == (
        "claims 2025",
        "1",
    )


@pytest.mark.parametrize("mode", ["fill", "type", "key_press"])
async def test_input_text_types_quotes_and_backslashes_exactly(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str, mode: str
) -> None:
    # The value comes from a parameter; it contains a placeholder that must stay literal.
    parameters = {"input_parameters": {"note": [TRICKY], "other": ["EXPANDED"]}}
    nodes = [
        node("input_text", {"command": QUERY, "input_text": "{note[0]}", "fill_or_type": mode}),
        node(
            "input_text",
            {"command": 'get_by_label("Notes")', "input_text": TRICKY, "fill_or_type": mode},
        ),
    ]
    result = await run_nodes(
        observed, settings, f"{test_site}/inputs.html", *nodes, parameters=parameters
    )
    assert result.status == "success", result.error
    assert observed.page.values["query"] == TRICKY
    # Written directly in the automation, {other[0]} is a placeholder and is substituted.
    assert observed.page.values["notes"] == TRICKY.replace("{other[0]}", "EXPANDED")


@pytest.mark.parametrize("mode", ["type", "key_press"])
async def test_typing_a_long_text_is_not_cut_by_the_per_try_timeout(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str, mode: str
) -> None:
    # Typing 600 keys takes longer than one 0.2 s try: the text must still arrive once.
    text = "0123456789" * 60
    body = {"command": 'get_by_label("Notes")', "input_text": text, "fill_or_type": mode}
    step = node("input_text", body, max_tries=3, max_timeout_seconds_per_try=0.2)
    result = await run_nodes(observed, settings, f"{test_site}/inputs.html", step)
    assert result.status == "success", result.error
    assert observed.page.values["notes"] == text
    assert result.nodes[0].tries == 1


async def test_xpath_without_command(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    # Old recordings carry only an xpath.
    body = {"xpath": "//button[@id='target']"}
    result = await run_nodes(
        observed, settings, f"{test_site}/clicks.html", node("click_element", body)
    )
    assert result.status == "success", result.error
    assert observed.page.values["click-count"] == "1"


@pytest.mark.parametrize("text", ["{nope[0]}", "find {query[3]}"])
async def test_input_text_with_unknown_placeholder_is_skipped(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str, text: str
) -> None:
    parameters = {"input_parameters": {"query": ["only one"]}}
    nodes = [
        node("input_text", {"command": QUERY, "input_text": text}),
        node("input_text", {"command": 'get_by_label("Notes")', "input_text": "next step ran"}),
    ]
    result = await run_nodes(
        observed, settings, f"{test_site}/inputs.html", *nodes, parameters=parameters
    )
    assert result.status == "success", result.error
    assert [n.status for n in result.nodes] == ["skipped", "success"]
    skipped = [e for e in events_of(result) if e["event"] == "skipped"]
    assert [e["node_index"] for e in skipped] == ["0"]
    assert "unknown" in skipped[0]["error"]
    assert (observed.page.values["query"], observed.page.values["notes"]) == ("", "next step ran")


SECRET = 'pa55 "w0rd" \\ s3cret'


async def test_secure_env_parameter_is_typed_and_redacted(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    test_site: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPTEXITY_TEST_SECRET", SECRET)
    parameters = {
        "input_parameters": {},
        "secure_parameters": {"pw": [{"env": "OPTEXITY_TEST_SECRET"}]},
    }
    nodes = [
        node(
            "input_text",
            {"command": 'get_by_label("Secret")', "input_text": "{pw[0]}", "fill_or_type": "type"},
        ),
        node("input_text", {"command": QUERY, "input_text": "{pw[0]}"}),
        {"type": "action_node", "fail_state_action": {"failure_message": "stopped after {pw[0]}"}},
    ]
    result = await run_nodes(
        observed, settings, f"{test_site}/inputs.html", *nodes, parameters=parameters
    )
    assert (observed.page.values["secret"], observed.page.values["query"]) == (SECRET, SECRET)
    assert result.status == "failed"
    run_dir = Path(result.run_dir)
    written = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    assert written["error"]["message"] == "stopped after [secret]"
    for name in ("events.jsonl", "result.json"):
        text = (run_dir / name).read_text(encoding="utf-8")
        assert "s3cret" not in text, name
        assert "[secret]" in text, name


async def test_secure_env_parameter_without_its_variable_fails_the_step(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    test_site: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Declared but its environment variable is unset: an error, not Optexity's silent skip
    # (which is for variables that do not exist at all).
    monkeypatch.delenv("OPTEXITY_TEST_UNSET", raising=False)
    parameters = {
        "input_parameters": {},
        "secure_parameters": {"pw": [{"env": "OPTEXITY_TEST_UNSET"}]},
    }
    body = {"command": 'get_by_label("Secret")', "input_text": "{pw[0]}"}
    result = await run_nodes(
        observed,
        settings,
        f"{test_site}/inputs.html",
        node("input_text", body),
        parameters=parameters,
    )
    cause = failed_cause(result)
    assert "OPTEXITY_TEST_UNSET" in cause
    assert "not set" in cause
    assert result.nodes[0].status == "failed"


# --- select_option -----------------------------------------------------------------------

CLAIM_TYPE = 'get_by_label("Claim type")'


@pytest.mark.parametrize(
    ("requested", "value"),
    [
        ("health", "health"),  # by value
        ("Home / Property", "home"),  # by label
        ("pet CARE", "pet-care"),  # case-insensitive label
        ("Trav.*", "travel"),  # regex
    ],
)
async def test_select_option_matches(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any, requested: str, value: str
) -> None:
    body = {"command": CLAIM_TYPE, "select_values": [requested]}
    result = await run_nodes(
        observed, settings, f"{demo_site.base_url}/claims/new", node("select_option", body)
    )
    assert result.status == "success", result.error
    assert observed.page.values["claim_type"] == value


async def test_select_option_prefers_value_over_label(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    # Option value "a" is labelled "c"; the option labelled "a" has value "b".
    body = {"command": 'get_by_label("Tricky")', "select_values": ["a"]}
    result = await run_nodes(
        observed, settings, f"{test_site}/select.html", node("select_option", body)
    )
    assert result.status == "success", result.error
    assert observed.page.values["tricky"] == "a"


async def test_select_option_several_values_in_a_multiple_select(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    body = {"command": 'get_by_label("Colours")', "select_values": ["Red", "b"]}
    result = await run_nodes(
        observed, settings, f"{test_site}/select.html", node("select_option", body)
    )
    assert result.status == "success", result.error
    assert observed.page.values["colours"] == ["r", "b"]


async def test_select_option_without_match_lists_the_options(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    body = {"command": CLAIM_TYPE, "select_values": ["Boat"]}
    result = await run_nodes(
        observed,
        settings,
        f"{demo_site.base_url}/claims/new",
        node("select_option", body, max_tries=3),
    )
    cause = failed_cause(result)
    assert "no option matches 'Boat'" in cause
    assert "'Auto / Vehicle' (value 'auto')" in cause
    assert "'PET care' (value 'pet-care')" in cause
    assert result.nodes[0].tries == 1  # the options answered: trying again cannot help
    assert observed.page.values["claim_type"] == ""


async def test_select_option_with_expect_download(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    body = {
        "command": 'get_by_label("Export as")',
        "select_values": ["CSV file"],
        "expect_download": True,
        "download_filename": "export.csv",
    }
    result = await run_nodes(
        observed, settings, f"{test_site}/select.html", node("select_option", body)
    )
    assert result.status == "success", result.error
    assert [d.path for d in result.downloads] == ["downloads/export.csv"]
    assert (Path(result.run_dir) / "downloads/export.csv").read_bytes() == (
        TEST_SITE / "data.csv"
    ).read_bytes()


# --- check / uncheck ---------------------------------------------------------------------

CONFIRM = 'get_by_label("I confirm the information is accurate")'
URGENT = 'get_by_role("radio", name="Urgent")'


async def test_check_twice_is_one_change(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [node("check", {"command": CONFIRM}), node("check", {"command": CONFIRM})]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/claims/new", *nodes)
    assert result.status == "success", result.error
    assert "confirm=yes" in observed.page.checked
    assert observed.page.values["change-count"] == "1"


async def test_check_a_radio_button(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [node("check", {"command": URGENT}), node("check", {"command": URGENT})]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/claims/new", *nodes)
    assert result.status == "success", result.error
    assert "priority=urgent" in observed.page.checked
    assert "priority=normal" not in observed.page.checked
    assert observed.page.values["change-count"] == "1"


async def test_uncheck_is_idempotent(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [
        node("check", {"command": CONFIRM}),
        node("uncheck", {"command": CONFIRM}),
        node("uncheck", {"command": CONFIRM}),
    ]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/claims/new", *nodes)
    assert result.status == "success", result.error
    assert "confirm=yes" not in observed.page.checked
    assert observed.page.values["change-count"] == "2"


# --- hover -------------------------------------------------------------------------------

BILLING = 'get_by_role("link", name="Billing settings")'


async def test_hover_reveals_the_menu(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [
        node("hover", {"command": 'get_by_role("button", name="Settings")'}),
        node("click_element", {"command": BILLING}),
    ]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/hover", *nodes)
    assert result.status == "success", result.error
    assert observed.page.values["hover-result"] == "Billing settings"


async def test_menu_link_is_not_clickable_without_hover(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    result = await run_nodes(
        observed,
        settings,
        f"{demo_site.base_url}/hover",
        node("click_element", {"command": BILLING}, **FAST),
    )
    assert "no visible element matches " + BILLING in failed_cause(result)
    assert observed.page.values["hover-result"] == "nothing"


# --- upload_file -------------------------------------------------------------------------

ATTACHMENT = 'get_by_label("Attachment")'
SUBMIT = 'get_by_role("button", name="Submit claim")'


async def test_upload_file_path_is_relative_to_the_automation_folder(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any, tmp_path: Path
) -> None:
    (tmp_path / "docs").mkdir()
    content = b"police report \x00\xff"
    (tmp_path / "docs" / "report.bin").write_bytes(content)
    nodes = [
        node("upload_file", {"command": ATTACHMENT, "file_path": "docs/report.bin"}),
        node("click_element", {"command": SUBMIT}, end_sleep_time=5),
    ]
    result = await run_nodes(
        observed, settings, f"{demo_site.base_url}/claims/new", *nodes, source_dir=tmp_path
    )
    assert result.status == "success", result.error
    claim = demo_site.last_claim()
    assert claim["files"]["attachment"]["filename"] == "report.bin"
    assert claim["files"]["attachment"]["sha256"] == hashlib.sha256(content).hexdigest()


async def test_upload_missing_file_fails_with_its_path(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any, tmp_path: Path
) -> None:
    body = {"command": ATTACHMENT, "file_path": "missing.pdf"}
    result = await run_nodes(
        observed,
        settings,
        f"{demo_site.base_url}/claims/new",
        node("upload_file", body, max_tries=3),
        source_dir=tmp_path,
    )
    cause = failed_cause(result)
    assert str(tmp_path / "missing.pdf") in cause
    assert result.nodes[0].tries == 1


@pytest.mark.parametrize("relative", [True, False])
async def test_upload_file_url_is_fetched_and_leaves_no_temp_file(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    demo_site: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    relative: bool,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    url = "/files/claims.csv" if relative else f"{demo_site.base_url}/files/claims.csv"
    nodes = [
        node("upload_file", {"command": ATTACHMENT, "file_url": url}),
        # The form is submitted after the upload step: the file must still be readable then.
        node("click_element", {"command": SUBMIT}, end_sleep_time=5),
    ]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/claims/new", *nodes)
    assert result.status == "success", result.error
    attachment = demo_site.last_claim()["files"]["attachment"]
    assert attachment["filename"] == "claims.csv"
    expected = fetch(f"{demo_site.base_url}/files/claims.csv")
    assert attachment["sha256"] == hashlib.sha256(expected).hexdigest()
    assert listing(tmp_path) == ["runs"]


async def test_upload_file_url_not_found_fails_and_leaves_no_temp_file(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    demo_site: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    body = {"command": ATTACHMENT, "file_url": "/files/nothing-here.pdf"}
    result = await run_nodes(
        observed,
        settings,
        f"{demo_site.base_url}/claims/new",
        node("upload_file", body, max_tries=3),
    )
    assert "answered HTTP 404" in failed_cause(result)
    assert result.nodes[0].tries == 1
    assert listing(tmp_path) == ["runs"]
