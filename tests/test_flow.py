"""Flow nodes in real Chromium: ``for_loop_node`` (variables, locators, nesting, errors,
reset nodes), ``if_else_node`` and ``assert_locator_node``; and the claims-table example."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser
from support.paths import ROOT
from support.runs import action_node, automation, events_of, example, run_data

from optexity_runner import flow
from optexity_runner.result import RunResult
from optexity_runner.settings import RunnerSettings

ROWS = 'locator("#claims-table tbody tr")'
CLI = str(Path(sys.executable).parent / "optexity-runner")


def node(**action: Any) -> dict[str, Any]:
    return {"type": "action_node", **action, "end_sleep_time": 0}


def set_var(name: str, value: Any = None, expression: str | None = None) -> dict[str, Any]:
    spec = (
        {"name": name, "expression": expression} if expression else {"name": name, "value": value}
    )
    return node(misc_action={"set_variable": spec})


def extract(command: str, name: str, kind: str = "str") -> dict[str, Any]:
    body = {"command": command, "output_variable_name": name, "extraction_format": {name: kind}}
    return node(extraction_action={"locator": body})


def loop(source: dict[str, Any], nodes: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"type": "for_loop_node", **source, "nodes": nodes, **fields}


def missing_click() -> dict[str, Any]:
    """A step that fails fast: the element never exists."""
    return action_node(
        "click_element",
        {"command": 'locator("#never")'},
        max_tries=1,
        max_timeout_seconds_per_try=0.1,
    )


def values_set(result: RunResult, name: str) -> list[Any]:
    """Every value ``set_variable`` gave ``name``, in order."""
    return [
        e["value"] for e in events_of(result) if e["event"] == "variable_set" and e["name"] == name
    ]


def finished(result: RunResult, action: str) -> list[dict[str, Any]]:
    return [e for e in events_of(result) if e["event"] == "node_finished" and e["action"] == action]


def params(**values: list[Any]) -> dict[str, Any]:
    return {"input_parameters": values}


# --- for_loop_node over variables -------------------------------------------------------


async def test_variable_loop_substitutes_every_placeholder_form(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    body = [set_var("seen", "{names[i]}-{ids[i]}-{index_of(names)}-{index_of(ids)}-{i}")]
    data = automation(
        f"{test_site}/extraction.html",
        [loop({"variable_name": "names, ids", "index_variable_name": "i"}, body)],
        parameters=params(names=["ann", "bob", "cy"], ids=["1", "2", "3", "4"]),
    )
    result = await run_data(data, browser, settings)
    assert result.status == "success", result.error
    # The first variable sets the length: ids has a fourth value that is never reached.
    assert values_set(result, "seen") == ["ann-1-0-0-0", "bob-2-1-1-1", "cy-3-2-2-2"]
    body_records = [r for r in result.nodes if r.index == "0.0"]
    assert [r.iteration for r in body_records] == [[0], [1], [2]]
    loop_record = next(r for r in result.nodes if r.index == "0")
    assert (loop_record.type, loop_record.iteration, loop_record.status) == (
        "for_loop_node",
        [],
        "success",
    )
    assert finished(result, "for_loop_node")[0]["iterations"] == 3


async def test_loop_variable_values_are_typed_into_a_real_page(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    body = [
        action_node(
            "input_text", {"command": 'locator("#name")', "input_text": "{who[index]} #{index}"}
        ),
        extract('locator("#name")', "typed"),
    ]
    data = automation(
        f"{test_site}/extraction.html",
        [loop({"variable_name": "who"}, body)],
        parameters=params(who=["Ann", "O'Brien"]),
    )
    result = await run_data(data, browser, settings)
    assert result.status == "success", result.error
    assert result.outputs["typed"] == ["Ann #0", "O'Brien #1"]


async def test_nested_loops_keep_one_index_name_per_level(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    inner = loop(
        {"variable_name": "items", "index_variable_name": "k"},
        [set_var("pair", "{groups[g]}{items[k]} {g}.{k} {index_of(groups)}{index_of(items)}")],
    )
    data = automation(
        f"{test_site}/extraction.html",
        [loop({"variable_name": "groups", "index_variable_name": "g"}, [inner])],
        parameters=params(groups=["x", "y"], items=["1", "2", "3"]),
    )
    result = await run_data(data, browser, settings)
    assert result.status == "success", result.error
    assert values_set(result, "pair") == [
        "x1 0.0 00", "x2 0.1 01", "x3 0.2 02", "y1 1.0 10", "y2 1.1 11", "y3 1.2 12",
    ]  # fmt: skip
    iterations = [r.iteration for r in result.nodes if r.index == "0.0.0"]
    assert iterations == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    inner_loops = [r.iteration for r in result.nodes if r.index == "0.0"]
    assert inner_loops == [[0], [1]]


async def test_a_loop_over_an_extracted_list(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        extract('locator("#tags li")', "tags", "list[str]"),
        loop({"variable_name": "tags"}, [set_var("tag", expression="tags[index] + '!'")]),
    ]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "success", result.error
    assert values_set(result, "tag") == ["auto!", "urgent!", "review!"]


async def test_empty_loops_run_nothing_and_succeed(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        loop({"variable_name": "nothing"}, [missing_click()]),
        loop({"locator": 'locator(".no-such-row")', "locator_timeout": 0.2}, [missing_click()]),
        loop({"variable_name": "many"}, [missing_click()], max_iterations=0),
    ]
    data = automation(
        f"{test_site}/extraction.html",
        nodes,
        parameters={
            "input_parameters": {"many": ["a", "b"]},
            "generated_parameters": {"nothing": []},
        },
    )
    result = await run_data(data, browser, settings)
    assert result.status == "success", result.error
    assert [e["iterations"] for e in finished(result, "for_loop_node")] == [0, 0, 0]
    assert [r.index for r in result.nodes] == ["0", "1", "2"]


async def test_max_iterations_caps_a_loop(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    body = [extract('{locator[index]}.locator("td").first', "claim")]
    nodes = [loop({"locator": ROWS}, body, max_iterations=2)]
    result = await run_data(automation(f"{demo_site.base_url}/claims", nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs["claim"] == ["CLM-1001", "CLM-1002"]
    started = next(e for e in events_of(result) if e["event"] == "loop_started")
    assert (started["count"], started["iterations"]) == (8, 2)


async def test_a_loop_over_an_unknown_variable_fails_naming_the_node(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        node(sleep_action={"sleep_time": 0}),
        loop({"variable_name": "ghosts"}, [missing_click()]),
    ]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.node_index == "1"
    assert "unknown variable 'ghosts'" in result.error.message
    assert result.nodes[-1].status == "failed"


# --- for_loop_node over locators --------------------------------------------------------


async def test_a_locator_loop_waits_for_a_table_that_is_still_filling_in(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [
        node(misc_action={"count_locator": {"command": ROWS, "output_variable_name": "at_once"}}),
        loop(
            {"locator": ROWS, "index_variable_name": "row"},
            [extract('{locator[row]}.locator("td").first', "claim")],
        ),
    ]
    url = f"{demo_site.base_url}/claims/live?interval=300"  # 8 rows over 2.4 s
    result = await run_data(automation(url, nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs["at_once"] < 8  # counting straight away misses rows still to come
    assert result.outputs["claim"] == [f"CLM-100{i}" for i in range(1, 9)]


async def test_a_list_that_keeps_growing_is_looped_over_as_it_is_at_the_cap(
    browser: Browser, settings: RunnerSettings, demo_site: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flow, "COUNT_SETTLE_CAP", 0.3)
    nodes = [loop({"locator": ROWS}, [set_var("row", expression="index")])]
    url = f"{demo_site.base_url}/claims/live?interval=100"
    result = await run_data(automation(url, nodes), browser, settings)
    assert result.status == "success", result.error
    unsettled = [e for e in events_of(result) if e["event"] == "loop_count_unsettled"]
    assert len(unsettled) == 1
    assert 1 <= unsettled[0]["count"] < 8
    assert len(values_set(result, "row")) == unsettled[0]["count"]


async def test_nested_locator_loops_reach_the_outer_row_by_its_index_name(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    inner = loop(
        # Cells of a row already there need no settling: count them at once.
        {
            "locator": '{locator[row]}.locator("td")',
            "index_variable_name": "cell",
            "locator_timeout": 0,
        },
        [
            extract("{locator[cell]}", "cell_text"),
            extract('{locator[row]}.locator("td").first', "row_id"),
        ],
        max_iterations=3,
    )
    nodes = [loop({"locator": ROWS, "index_variable_name": "row"}, [inner], max_iterations=2)]
    result = await run_data(automation(f"{demo_site.base_url}/claims", nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs["cell_text"] == [
        "CLM-1001", "Maria Gonzalez", "Open", "CLM-1002", "James O'Brien", "Pending",
    ]  # fmt: skip
    assert result.outputs["row_id"] == ["CLM-1001"] * 3 + ["CLM-1002"] * 3


# --- on_error_in_loop and reset_nodes ---------------------------------------------------


def failing_second_iteration(on_error: str, reset: bool = False) -> dict[str, Any]:
    body = [
        {"type": "if_else_node", "condition": "index == 1", "if_nodes": [missing_click()]},
        set_var("done", "{items[index]}"),
    ]
    reset_nodes = [set_var("reset", "after {index}")] if reset else []
    return loop(
        {"variable_name": "items"}, body, on_error_in_loop=on_error, reset_nodes=reset_nodes
    )


async def run_failing_loop(
    browser: Browser, settings: RunnerSettings, test_site: str, on_error: str, reset: bool = False
) -> RunResult:
    nodes = [failing_second_iteration(on_error, reset), set_var("after_loop", "yes")]
    data = automation(
        f"{test_site}/extraction.html", nodes, parameters=params(items=["a", "b", "c"])
    )
    return await run_data(data, browser, settings)


async def test_on_error_raise_fails_the_run_at_the_failing_step(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    result = await run_failing_loop(browser, settings, test_site, "raise")
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.node_index == "0.0.if.0"
    assert values_set(result, "done") == ["a"]
    assert values_set(result, "after_loop") == []
    failed_step = next(r for r in result.nodes if r.index == "0.0.if.0")
    assert (failed_step.status, failed_step.iteration) == ("failed", [1])
    assert result.nodes[-1].index == "0"
    assert result.nodes[-1].status == "failed"
    failures = [e for e in events_of(result) if e["event"] == "loop_iteration_failed"]
    assert [(e["loop_iteration"], e["on_error"]) for e in failures] == [(1, "raise")]


async def test_on_error_continue_goes_on_with_the_next_iteration(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    result = await run_failing_loop(browser, settings, test_site, "continue", reset=True)
    assert result.status == "success", result.error
    assert values_set(result, "done") == ["a", "c"]
    assert values_set(result, "after_loop") == ["yes"]
    # Reset nodes run between iterations, also after the failed one, never after the last.
    assert values_set(result, "reset") == ["after 0", "after 1"]
    loop_event = finished(result, "for_loop_node")[0]
    assert (loop_event["iterations"], loop_event["failed_iterations"]) == (3, [1])
    reset_records = [r for r in result.nodes if r.index == "0.reset.0"]
    assert [r.iteration for r in reset_records] == [[0], [1]]


async def test_on_error_break_ends_the_loop_and_the_run_goes_on(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    result = await run_failing_loop(browser, settings, test_site, "break", reset=True)
    assert result.status == "success", result.error
    assert values_set(result, "done") == ["a"]
    assert values_set(result, "reset") == ["after 0"]
    assert values_set(result, "after_loop") == ["yes"]
    loop_event = finished(result, "for_loop_node")[0]
    assert (loop_event["iterations"], loop_event["stopped_early"]) == (2, True)


async def test_a_failing_reset_node_follows_on_error_in_loop(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    body = [set_var("done", "{items[index]}")]
    nodes = [
        loop(
            {"variable_name": "items"},
            body,
            reset_nodes=[missing_click()],
            on_error_in_loop="continue",
        )
    ]
    data = automation(
        f"{test_site}/extraction.html", nodes, parameters=params(items=["a", "b", "c"])
    )
    result = await run_data(data, browser, settings)
    assert result.status == "success", result.error
    assert values_set(result, "done") == ["a", "b", "c"]
    assert finished(result, "for_loop_node")[0]["failed_iterations"] == [0, 1]


async def test_fail_state_ends_the_run_even_inside_a_continue_loop(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    body = [node(fail_state_action={"failure_message": "stop at {items[index]}"})]
    nodes = [loop({"variable_name": "items"}, body, on_error_in_loop="continue")]
    data = automation(f"{test_site}/extraction.html", nodes, parameters=params(items=["a", "b"]))
    result = await run_data(data, browser, settings)
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error.type, result.error.message) == ("FailStateError", "stop at a")


async def test_an_inner_loop_error_is_caught_by_the_outer_loop(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    inner = loop(
        {"variable_name": "items", "index_variable_name": "k"}, [failing_second_iteration("raise")]
    )
    outer = loop(
        {"variable_name": "groups", "index_variable_name": "g"},
        [inner],
        on_error_in_loop="continue",
    )
    data = automation(
        f"{test_site}/extraction.html",
        [outer],
        parameters=params(groups=["x", "y"], items=["a", "b", "c"]),
    )
    result = await run_data(data, browser, settings)
    assert result.status == "success", result.error
    assert values_set(result, "done") == ["a", "a"]
    failed_step = [
        r.iteration for r in result.nodes if r.status == "failed" and r.action == "click_element"
    ]
    assert failed_step == [[0, 0, 1], [1, 0, 1]]


# --- if_else_node -----------------------------------------------------------------------


async def test_conditions_over_extracted_values_pick_the_branch(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        extract('locator("#count")', "count", "int"),
        extract('locator("#word")', "status"),
        {
            "type": "if_else_node",
            "condition": "count[0] > 40 and {status[0]} != 'closed' and status[0] in ['pending']",
            "if_nodes": [set_var("branch", "if")],
            "else_nodes": [set_var("branch", "else")],
        },
        {
            "type": "if_else_node",
            "condition": "count[0] >= 100 or len(status[0]) > 10",
            "if_nodes": [set_var("second", "if")],
            "else_nodes": [set_var("second", "else"), set_var("note", "count was {count[0]}")],
        },
    ]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "success", result.error
    assert values_set(result, "branch") == ["if"]
    assert values_set(result, "second") == ["else"]
    assert values_set(result, "note") == ["count was 42"]
    decisions = [
        (e["node_index"], e["branch"], e["result"]) for e in finished(result, "if_else_node")
    ]
    assert decisions == [("2", "if", True), ("3", "else", False)]
    assert [r.index for r in result.nodes if r.type == "action_node"][-2:] == [
        "3.else.0",
        "3.else.1",
    ]


async def test_a_condition_that_cannot_be_evaluated_fails_naming_the_node(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        node(sleep_action={"sleep_time": 0}),
        {"type": "if_else_node", "condition": "empty[0] == 'x'", "if_nodes": []},
    ]
    data = automation(
        f"{test_site}/extraction.html",
        nodes,
        parameters={"input_parameters": {}, "generated_parameters": {"empty": []}},
    )
    result = await run_data(data, browser, settings)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.node_index == "1"
    assert result.error.command == "empty[0] == 'x'"
    assert "out of range" in result.error.message
    assert result.nodes[-1].status == "failed"


# --- assert_locator_node ----------------------------------------------------------------


def assertion(
    locator: str, name: str, kind: str = "to_be_visible", timeout: float = 2
) -> dict[str, Any]:
    return {
        "type": "assert_locator_node",
        "locator": locator,
        "assertion": kind,
        "timeout": timeout,
        "output_variable_name": name,
    }


async def test_assert_locator_stores_true_or_false_and_never_fails_the_run(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        assertion('locator("#later")', "later_visible"),  # appears after 0.4 s
        assertion('locator("#going")', "going_hidden", "to_be_hidden"),  # removed after 0.4 s
        assertion('locator("#nowhere")', "nowhere_visible", timeout=0.2),
        assertion('locator("#hidden")', "hidden_visible", timeout=0),
        assertion('locator("#nowhere")', "nowhere_hidden", "to_be_hidden", timeout=0),
        assertion('locator("#heading")', "heading_hidden", "to_be_hidden", timeout=0.2),
        {
            "type": "if_else_node",
            "condition": "later_visible[0] and not nowhere_visible[0] and nowhere_hidden[0]",
            "if_nodes": [set_var("checked", "{later_visible[0]}/{heading_hidden[0]}")],
        },
    ]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "success", result.error
    results = [e["result"] for e in finished(result, "assert_locator_node")]
    assert results == [True, True, False, False, True, False]
    assert values_set(result, "checked") == ["true/false"]
    assert all(r.status == "success" for r in result.nodes)


async def test_assert_locator_in_a_loop_uses_the_row(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    body: list[dict[str, Any]] = [
        {
            "type": "assert_locator_node",
            "locator": '{locator[row]}.locator(".badge.open")',
            "timeout": 0,
            "output_variable_name": "is_open",
        },
        {
            "type": "if_else_node",
            "condition": "is_open[0]",
            "if_nodes": [extract('{locator[row]}.locator("td").first', "open_id")],
        },
    ]
    nodes = [loop({"locator": ROWS, "index_variable_name": "row"}, body)]
    result = await run_data(automation(f"{demo_site.base_url}/claims", nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs["open_id"] == ["CLM-1001", "CLM-1004", "CLM-1007"]


# --- the example ------------------------------------------------------------------------

EXPECTED_EXAMPLE_OUTPUTS = {
    "claim_count": 8,
    "claim_id": [f"CLM-100{i}" for i in range(1, 9)],
    "claim_status": ["Open", "Pending", "Closed", "Open", "Pending", "Closed", "Open", "Closed"],
    "open_claim_id": ["CLM-1001", "CLM-1004", "CLM-1007"],
    "open_claim_amount": [1250.0, 89.99, 2100.0],
}


async def test_the_claims_table_example_walks_branches_and_extracts(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    result = await run_data(example("claims_table.json", demo_site.base_url), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs == EXPECTED_EXAMPLE_OUTPUTS


def test_the_cli_prints_the_extracted_values(demo_site: Any, tmp_path: Path) -> None:
    file = tmp_path / "claims_table.json"
    file.write_text(json.dumps(example("claims_table.json", demo_site.base_url)))
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run(
        [CLI, "run", str(file), "--out", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "output open_claim_amount = [1250.0, 89.99, 2100.0]" in done.stderr
    assert "output claim_count = 8" in done.stderr
    assert "1.2[0]  if_else_node  claim_status[0] == 'Open'  -> if" in done.stderr
