"""Conditions and expressions in a FILE: hostile ones are refused when the file is loaded,
naming the JSON path and the column, with exit code 2, before any browser starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.hostile import HOSTILE

from optexity_runner.errors import ExitCode, InvalidAutomationError
from optexity_runner.loader import load_automation

CLI = str(Path(sys.executable).parent / "optexity-runner")


def condition_node(condition: str) -> dict[str, Any]:
    return {"type": "if_else_node", "condition": condition, "if_nodes": []}


def set_variable(expression: str) -> dict[str, Any]:
    spec = {"set_variable": {"name": "x", "expression": expression}}
    return {"type": "action_node", "misc_action": spec, "end_sleep_time": 0}


def sleep() -> dict[str, Any]:
    return {"type": "action_node", "sleep_action": {"sleep_time": 0}}


def place(where: str, text: str) -> tuple[dict[str, Any], str]:
    """A file with ``text`` as a condition or expression somewhere, and that JSON path."""
    nodes: list[dict[str, Any]] = [sleep()]
    post: list[dict[str, Any]] = []
    if where == "top":
        nodes.append(condition_node(text))
        path = "$.nodes[1].condition"
    elif where == "nested":
        inner = {**condition_node("x[0] == 1"), "else_nodes": [sleep(), condition_node(text)]}
        nodes.append({"type": "for_loop_node", "variable_name": "x", "nodes": [inner]})
        path = "$.nodes[1].nodes[0].else_nodes[1].condition"
    elif where == "reset":
        loop = {"type": "for_loop_node", "locator": 'locator("tr")', "nodes": []}
        nodes.append({**loop, "reset_nodes": [condition_node(text)]})
        path = "$.nodes[1].reset_nodes[0].condition"
    elif where == "set_variable":
        nodes.append({"type": "if_else_node", "condition": "1", "if_nodes": [set_variable(text)]})
        path = "$.nodes[1].if_nodes[0].misc_action.set_variable.expression"
    else:
        post.append(set_variable(text))
        path = "$.post_processing_nodes[0].misc_action.set_variable.expression"
    data = {
        "url": "http://127.0.0.1:9/",
        "parameters": {"input_parameters": {"x": ["1"]}},
        "nodes": nodes,
        "post_processing_nodes": post,
    }
    return data, path


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    file = tmp_path / "automation.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    return file


@pytest.mark.parametrize(("text", "column", "reason"), HOSTILE, ids=lambda v: repr(v)[:40])
def test_a_hostile_condition_in_a_file_is_refused_with_its_path_and_column(
    tmp_path: Path, text: str, column: int, reason: str
) -> None:
    data, path = place("nested", text)
    with pytest.raises(InvalidAutomationError) as caught:
        load_automation(write(tmp_path, data))
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    [issue] = caught.value.issues
    assert issue.path == path
    assert f"at column {column}" in issue.message
    assert reason in issue.message


@pytest.mark.parametrize("where", ["top", "nested", "reset", "set_variable", "post"])
def test_every_place_an_expression_can_be_is_checked(tmp_path: Path, where: str) -> None:
    data, path = place(where, "__import__('os').system('id')")
    with pytest.raises(InvalidAutomationError) as caught:
        load_automation(write(tmp_path, data))
    assert [issue.path for issue in caught.value.issues] == [path]


def test_the_cli_exits_2_naming_the_path_column_and_expression(tmp_path: Path) -> None:
    data, path = place("nested", "x[0].__class__.__bases__")
    done = subprocess.run(
        [CLI, "run", str(write(tmp_path, data)), "--out", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"{path}: attribute access (.__class__) is not allowed at column 5" in done.stderr
    assert "x[0].__class__.__bases__\n" in done.stderr
    assert not (tmp_path / "runs").exists()  # refused before any run started


def test_well_formed_conditions_load(tmp_path: Path) -> None:
    data, _ = place("nested", "x[0] is not None and x[0] != 'skip' and {x[0]} in ['1', '2']")
    automation = load_automation(write(tmp_path, data))
    assert automation.nodes[1].type == "for_loop_node"
