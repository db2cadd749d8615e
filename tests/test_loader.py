"""The loader: every problem that can be found without a browser, with its JSON path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from optexity_runner.errors import InvalidAutomationError, LocatorSyntaxError
from optexity_runner.loader import json_path, load_automation, parse_automation
from schemas import Automation
from schemas.nodes import ActionNode, AssertLocatorNode, ForLoopNode, IfElseNode

CLICK = {"command": 'get_by_role("button", name="Go")'}


def document(*nodes: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "url": "http://127.0.0.1/",
        "parameters": {"input_parameters": {}},
        "nodes": list(nodes),
        **top,
    }


def interaction(kind: str, body: dict[str, Any], **node: Any) -> dict[str, Any]:
    return {"type": "action_node", "interaction_action": {kind: body}, **node}


def problems(data: dict[str, Any] | str) -> list[str]:
    """The problems the loader reports, one string per issue."""
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(InvalidAutomationError) as info:
        parse_automation(text, "auto.json")
    assert str(info.value).startswith("auto.json: ")
    return [str(issue) for issue in info.value.issues]


def test_a_valid_file_loads() -> None:
    automation = parse_automation(json.dumps(document(interaction("click_element", CLICK))))
    assert isinstance(automation, Automation)
    assert automation.nodes[0].type == "action_node"


# --- JSON and shape ----------------------------------------------------------------------


def test_invalid_json_names_line_and_column() -> None:
    assert problems('{"url": "x",\n  "nodes": [,]\n}') == [
        "invalid JSON at line 2, column 13: Expecting value"
    ]


def test_top_level_must_be_an_object() -> None:
    assert problems("[1, 2]") == ["$: expected a JSON object at the top level, got list"]


def test_missing_required_field() -> None:
    data = document()
    del data["url"]
    assert problems(data) == ["$.url: required field is missing"]


def test_wrong_value_type_quotes_the_value() -> None:
    data = document({"type": "action_node", "sleep_action": {"sleep_time": "soon"}})
    [problem] = problems(data)
    assert problem.startswith("$.nodes[0].sleep_action.sleep_time: ")
    assert problem.endswith('got "soon"')


# --- unknown keys ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            document(interaction("click_element", {"comand": "get_by_text('Go')"})),
            "$.nodes[0].interaction_action.click_element.comand: unknown key 'comand'; "
            "did you mean 'command'?",
        ),
        (
            document(interaction("click_element", CLICK, end_sleep_tim=1)),
            "$.nodes[0].end_sleep_tim: unknown key 'end_sleep_tim'; did you mean 'end_sleep_time'?",
        ),
        (
            document(max_retry=1),
            "$.max_retry: unknown key 'max_retry'; did you mean 'max_retries'?",
        ),
        (
            document(interaction("input_text", {**CLICK, "fill_or_typ": "type"})),
            "$.nodes[0].interaction_action.input_text.fill_or_typ: unknown key 'fill_or_typ'; "
            "did you mean 'fill_or_type'?",
        ),
    ],
)
def test_unknown_key_names_path_and_nearest_key(data: dict[str, Any], expected: str) -> None:
    assert problems(data) == [expected]


def test_unknown_key_without_a_near_one_lists_the_allowed_keys() -> None:
    [problem] = problems(document(interaction("scroll", {"zzz": 1})))
    assert problem.startswith(
        "$.nodes[0].interaction_action.scroll.zzz: unknown key 'zzz'; allowed here: "
    )
    assert "amount, down" in problem


def test_every_problem_is_reported_at_once() -> None:
    data = document(
        interaction("click_element", {"comand": "x"}),
        interaction("hover", CLICK),
        interaction("check", {**CLICK, "skip_promt": True}),
    )
    found = problems(data)
    assert [p.split(":")[0] for p in found] == [
        "$.nodes[0].interaction_action.click_element.comand",
        "$.nodes[2].interaction_action.check.skip_promt",
    ]


def test_unknown_node_type_suggests_the_nearest() -> None:
    assert problems(document({"type": "action_nod"})) == [
        "$.nodes[0].type: unknown node type 'action_nod'; did you mean 'action_node'?"
    ]


# --- limits and unsupported actions ------------------------------------------------------


@pytest.mark.parametrize("seconds", [600, 601, 0, -1])
def test_max_wait_time_outside_0_600_is_rejected_with_the_reason(seconds: int) -> None:
    data = document({"type": "action_node", "human_in_loop_action": {"max_wait_time": seconds}})
    [problem] = problems(data)
    assert problem.startswith("$.nodes[0].human_in_loop_action.max_wait_time: ")
    assert "less than 600 seconds" in problem
    assert "Optexity kills a run" in problem
    assert f"got {seconds}" in problem


def test_max_wait_time_just_below_600_is_accepted() -> None:
    data = document({"type": "action_node", "human_in_loop_action": {"max_wait_time": 599.5}})
    assert parse_automation(json.dumps(data)).nodes[0].type == "action_node"


@pytest.mark.parametrize(
    ("node", "path", "reason"),
    [
        (
            {"type": "action_node", "python_script_action": {"execution_code": "import os"}},
            "$.nodes[0].python_script_action",
            "never executes code from an automation file",
        ),
        (
            {"type": "action_node", "powershell_action": {"script": "rm -r C:"}},
            "$.nodes[0].powershell_action",
            "never executes code from an automation file",
        ),
        (
            {"type": "action_node", "captcha_action": {}},
            "$.nodes[0].captcha_action",
            "use a human_in_loop_action",
        ),
        (
            interaction("agentic_task", {"task": "do it"}),
            "$.nodes[0].interaction_action.agentic_task",
            "no offline equivalent",
        ),
        (
            interaction("close_overlay_popup", {}),
            "$.nodes[0].interaction_action.close_overlay_popup",
            "use a click_element",
        ),
    ],
)
def test_unsupported_actions_are_rejected_with_the_reason(
    node: dict[str, Any], path: str, reason: str
) -> None:
    [problem] = problems(document(node))
    key = path.rsplit(".", 1)[1]
    assert problem.startswith(f"{path}: '{key}' is not supported: ")
    assert reason in problem


def test_llm_assertion_needs_a_provider() -> None:
    node = {
        "type": "action_node",
        "assertion_action": {"llm": {"extraction_instructions": "is it ok?"}},
    }
    [problem] = problems(document(node))
    assert problem.startswith("$.nodes[0].assertion_action")
    assert "model provider" in problem or "LLM" in problem


def test_external_secret_store_needs_a_provider() -> None:
    ref = {"onepassword": {"vault_name": "v", "item_name": "i", "field_name": "f"}}
    data = document(parameters={"secure_parameters": {"pw": [ref]}})
    [problem] = problems(data)
    assert problem.startswith("$.parameters.secure_parameters.pw[0]: onepassword secrets need")
    assert '{"env": "VAR"}' in problem


def test_skip_command_is_rejected() -> None:
    [problem] = problems(document(interaction("click_element", {**CLICK, "skip_command": True})))
    assert "no model" in problem or "LLM" in problem


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("upload_file", CLICK, "upload_file needs exactly one of file_path, file_url; found: none"),
        (
            "upload_file",
            {**CLICK, "file_path": "a", "file_url": "http://x/a"},
            "upload_file needs exactly one of file_path, file_url; found: file_path, file_url",
        ),
        ("close_tabs_until", {}, "close_tabs_until needs exactly one of matching_url, tab_index"),
        ("close_tabs_until", {"tab_index": -1}, "greater than or equal to 0"),
        ("key_press", {"type": "entr"}, "'entr' is not a key name"),
        ("key_press", {"type": []}, "give at least one key"),
        ("scroll", {"amount": -5}, "amount is -1"),
        ("click_element", {"button": "left"}, "needs a `command`"),
        ("select_option", {**CLICK, "select_values": []}, "at least 1 item"),
    ],
)
def test_sub_action_field_rules(kind: str, body: dict[str, Any], message: str) -> None:
    [problem] = problems(document(interaction(kind, body)))
    assert problem.startswith(f"$.nodes[0].interaction_action.{kind}")
    assert message in problem


def test_interaction_needs_exactly_one_sub_action() -> None:
    node = {"type": "action_node", "interaction_action": {"click_element": CLICK, "hover": CLICK}}
    [problem] = problems(document(node))
    assert problem.startswith(
        "$.nodes[0].interaction_action: interaction_action needs exactly one of "
    )
    assert problem.endswith("found: click_element, hover")


def test_expect_new_tab_only_on_interactions() -> None:
    node = {"type": "action_node", "sleep_action": {"sleep_time": 1}, "expect_new_tab": True}
    [problem] = problems(document(node))
    assert "expect_new_tab is only allowed on an interaction_action" in problem


# --- what Optexity files contain ---------------------------------------------------------


def test_recorder_metadata_is_accepted_and_dropped() -> None:
    body = {
        **CLICK,
        "xpath": "//button[1]",
        "coordinates": {"x": 10, "y": 20},
        "keyword": "Go",
        "recording_screenshot": "data:image/png;base64,AAAA",
        "bounding_box_variables": {"w": 1},
        "localized_axtree_string": "[12] button 'Go'",
    }
    node = interaction("click_element", body, max_new_tab_wait_time=5, expect_navigation=True)
    node["coordinates"] = [1, 2]
    automation = parse_automation(json.dumps(document(node)))
    click = automation.nodes[0].interaction_action.click_element  # type: ignore[union-attr]
    assert click is not None
    assert (click.command, click.xpath) == (CLICK["command"], "//button[1]")
    assert "coordinates" not in click.model_dump()


def test_old_format_nodes_without_type_are_accepted() -> None:
    data = document(
        {"interaction_action": {"click_element": CLICK}},
        {"condition": "x[0] == 'a'", "if_nodes": [{"sleep_action": {"sleep_time": 0}}]},
        {"variable_name": "x", "nodes": [{"interaction_action": {"hover": CLICK}}]},
        {"locator": 'locator("tr")', "assertion": "to_be_visible"},
    )
    data["parameters"]["input_parameters"] = {"x": ["a"]}
    automation = parse_automation(json.dumps(data))
    kinds = [type(n) for n in automation.nodes]
    assert kinds == [ActionNode, IfElseNode, ForLoopNode, AssertLocatorNode]
    assert isinstance(automation.nodes[1], IfElseNode)
    assert isinstance(automation.nodes[1].if_nodes[0], ActionNode)


def test_unhonoured_optexity_fields_give_one_warning_each() -> None:
    data = document(browser_channel="chrome", os_emulation="windows", backend="browser-use")
    automation = parse_automation(json.dumps(data))
    warnings = automation.unhonoured_field_warnings()
    assert [w.split(":")[0] for w in warnings] == ["browser_channel", "os_emulation"]


# --- locator commands --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "column", "reason"),
    [
        ('get_by_text("a").__class__', 18, "dunder"),
        ('get_by_text("a").evaluate("1")', 18, "not an allowed locator method"),
        ('get_by_role("button", nam="Go")', 23, "nam"),
    ],
)
def test_bad_locator_is_a_locator_syntax_error_with_path_and_column(
    command: str, column: int, reason: str
) -> None:
    data = document(interaction("click_element", {"command": command}))
    with pytest.raises(InvalidAutomationError) as info:
        parse_automation(json.dumps(data), "auto.json")
    [problem] = [str(i) for i in info.value.issues]
    assert problem.startswith("$.nodes[0].interaction_action.click_element.command: ")
    assert f"at column {column}" in problem
    assert command in problem
    assert reason in problem
    cause = info.value.__cause__
    assert isinstance(cause, ValidationError)
    error = cause.errors()[0]["ctx"]["error"]
    assert isinstance(error, LocatorSyntaxError)
    assert error.column == column


def test_bad_locator_in_a_nested_loop_node() -> None:
    inner = interaction("click_element", {"command": "locator('a')[0]"})
    data = document({"type": "for_loop_node", "locator": 'locator("tr")', "nodes": [inner]})
    [problem] = problems(data)
    assert problem.startswith("$.nodes[0].nodes[0].interaction_action.click_element.command: ")
    assert "at column" in problem


# --- files -------------------------------------------------------------------------------


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidAutomationError, match="cannot read file"):
        load_automation(tmp_path / "nope.json")


def test_load_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"url": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(InvalidAutomationError, match="not UTF-8"):
        load_automation(path)


def test_json_path_skips_pydantic_internal_steps() -> None:
    data = {"nodes": [{"interaction_action": {"click_element": {}}}]}
    loc = (
        "nodes",
        0,
        "action_node",
        "interaction_action",
        "click_element",
        "function-after[x]",
        "command",
    )
    assert json_path(loc, data) == "$.nodes[0].interaction_action.click_element.command"
