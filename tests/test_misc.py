"""``misc_action`` in real Chromium: ``set_variable`` and ``count_locator``."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser
from support.runs import automation, events_of, run_data

from optexity_runner.result import RunResult
from optexity_runner.settings import RunnerSettings


def misc(**action: Any) -> dict[str, Any]:
    return {"type": "action_node", "misc_action": action, "end_sleep_time": 0}


def set_var(name: str, **spec: Any) -> dict[str, Any]:
    return misc(set_variable={"name": name, **spec})


def values_set(result: RunResult) -> list[tuple[str, Any]]:
    return [(e["name"], e["value"]) for e in events_of(result) if e["event"] == "variable_set"]


async def test_set_variable_takes_a_value_or_a_safe_expression(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        set_var("greeting", value="hi {who[0]}, {who[1]} {not_a_placeholder}"),
        set_var("limit", value=3),
        set_var("total", expression="limit[0] * 2 + len(who)"),
        set_var("everyone", expression="who"),
        set_var("pair", expression="[who[1], '{greeting[0]}']"),
        set_var("big", expression="total[0] >= 8 and 'hi' in greeting[0]"),
        {
            "type": "if_else_node",
            "condition": "big[0] and len(everyone) == 2 and pair[1] == greeting[0]",
            "if_nodes": [set_var("confirmed", value=True)],
        },
    ]
    data = automation(
        f"{test_site}/extraction.html",
        nodes,
        parameters={"input_parameters": {"who": ["Ann", "Bo"]}},
    )
    result = await run_data(data, browser, settings)
    assert result.status == "success", result.error
    assert values_set(result) == [
        ("greeting", "hi Ann, Bo {not_a_placeholder}"),
        ("limit", 3),
        ("total", 8),
        ("everyone", ["Ann", "Bo"]),
        ("pair", ["Bo", "hi Ann, Bo {not_a_placeholder}"]),
        ("big", True),
        ("confirmed", True),
    ]
    assert result.outputs == {}  # set_variable only sets a variable


async def test_a_value_is_inserted_once_and_never_expanded_again(
    browser: Browser, settings: RunnerSettings, test_site: str, monkeypatch: Any
) -> None:
    monkeypatch.setenv("MISC_TEST_PASSWORD", "s3cret-value")
    nodes = [set_var("copy", value="{trick[0]}"), set_var("again", expression="copy[0]")]
    parameters = {
        "input_parameters": {"trick": ["{pw[0]}"]},
        "secure_parameters": {"pw": [{"env": "MISC_TEST_PASSWORD"}]},
    }
    result = await run_data(
        automation(f"{test_site}/extraction.html", nodes, parameters=parameters), browser, settings
    )
    assert result.status == "success", result.error
    assert values_set(result) == [("copy", "{pw[0]}"), ("again", "{pw[0]}")]


async def test_set_variable_refuses_to_overwrite_a_secure_parameter(
    browser: Browser, settings: RunnerSettings, test_site: str, monkeypatch: Any
) -> None:
    monkeypatch.setenv("MISC_TEST_PASSWORD", "s3cret-value")
    parameters = {
        "input_parameters": {},
        "secure_parameters": {"pw": [{"env": "MISC_TEST_PASSWORD"}]},
    }
    nodes = [set_var("pw", value="guess")]
    data = automation(f"{test_site}/extraction.html", nodes, parameters=parameters)
    result = await run_data(data, browser, settings)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.node_index == "0"
    assert "'pw' is a secure parameter" in result.error.message


async def test_an_expression_that_fails_names_the_node(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        set_var("a", value="text"),
        set_var("b", expression="a[0] - 1"),
        set_var("c", expression="ghost[0]"),
    ]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error.type, result.error.node_index) == ("StepFailedError", "1")
    assert "unsupported operand types for -: str and int" in result.error.message
    assert "text" not in result.error.message  # operand values are never quoted

    nodes = [set_var("c", expression="ghost[0]")]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.error is not None
    assert result.error.node_index == "0"
    assert "unknown variable 'ghost'" in result.error.message


async def test_count_locator_counts_now_into_a_variable_and_the_outputs(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    rows = 'locator("#claims-table tbody tr")'
    nodes = [
        misc(count_locator={"command": rows, "output_variable_name": "rows"}),
        misc(
            count_locator={
                "command": f'{rows}.filter(has_text="Open")',
                "output_variable_name": "open",
            }
        ),
        misc(count_locator={"command": 'locator(".nothing")', "output_variable_name": "none"}),
        {
            "type": "if_else_node",
            "condition": "rows[0] == 8 and open[0] == 3 and none[0] == 0",
            "if_nodes": [set_var("ratio", expression="open[0] / rows[0]")],
        },
    ]
    result = await run_data(automation(f"{demo_site.base_url}/claims", nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs == {"rows": 8, "open": 3, "none": 0}
    assert values_set(result) == [("ratio", 0.375)]
