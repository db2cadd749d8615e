"""The retry loop of ``interaction_action``: tries x per-try timeout, optional steps, and
failure causes that read as sentences (node index, command, why)."""

from __future__ import annotations

from typing import Any

from support.runs import FAST, ObservingBrowser, events_of, failed_cause, node, run_nodes

from optexity_runner.settings import RunnerSettings

CONTINUE = 'get_by_role("button", name="Continue")'


async def test_enough_tries_wait_for_a_slow_button(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    # The button appears after 1.5 s: 5 tries of 0.5 s cover it.
    step = node(
        "click_element", {"command": CONTINUE}, max_tries=5, max_timeout_seconds_per_try=0.5
    )
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/slow", step)
    assert result.status == "success", result.error
    assert observed.page.values["slow-result"] == "Continued"
    assert 3 <= result.nodes[0].tries <= 5


async def test_too_few_tries_fail_with_node_command_and_cause(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    step = node(
        "click_element", {"command": CONTINUE}, max_tries=2, max_timeout_seconds_per_try=0.2
    )
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/slow", step)
    assert failed_cause(result) == (
        f"node 0 (click_element {CONTINUE}): "
        f"no visible element matches {CONTINUE} within 0.2 s (2 tries)"
    )
    assert result.error is not None
    assert (result.error.node_index, result.error.command) == ("0", CONTINUE)
    assert result.nodes[0].tries == 2
    assert observed.page.values["slow-result"] == "Not continued"


async def test_failed_step_reports_the_error_in_its_node_record_and_events(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    missing = 'get_by_role("button", name="Nope")'
    nodes = [
        node("click_element", {"command": missing}, max_tries=2, max_timeout_seconds_per_try=0.2)
    ]
    result = await run_nodes(observed, settings, f"{test_site}/clicks.html", *nodes)
    cause = f"no visible element matches {missing} within 0.2 s (2 tries)"
    assert result.nodes[0].error == cause
    finished = [e for e in events_of(result) if e["event"] == "node_finished"]
    assert [(e["status"], e["error"]) for e in finished] == [("failed", cause)]


async def test_optional_step_is_skipped_and_the_run_goes_on(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        node(
            "click_element",
            {"command": 'get_by_role("button", name="Nope")', "skip_prompt": True},
            **FAST,
        ),
        node("click_element", {"command": 'get_by_role("button", name="Target")'}),
    ]
    result = await run_nodes(observed, settings, f"{test_site}/clicks.html", *nodes)
    assert result.status == "success", result.error
    assert [n.status for n in result.nodes] == ["optional_step_skipped", "success"]
    skipped = [e for e in events_of(result) if e["event"] == "optional_step_skipped"]
    assert [e["node_index"] for e in skipped] == ["0"]
    assert "no visible element matches" in skipped[0]["error"]
    assert observed.page.values["click-count"] == "1"


async def test_skip_prompt_with_assert_locator_presence_is_not_optional(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    body = {
        "command": 'get_by_role("button", name="Nope")',
        "skip_prompt": True,
        "assert_locator_presence": True,
    }
    result = await run_nodes(
        observed, settings, f"{test_site}/clicks.html", node("click_element", body, **FAST)
    )
    assert "no visible element matches" in failed_cause(result)
    assert not [e for e in events_of(result) if e["event"] == "optional_step_skipped"]


async def test_ambiguous_command_gives_a_readable_error(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    save = 'get_by_role("button", name="Save")'
    result = await run_nodes(
        observed, settings, f"{test_site}/clicks.html", node("click_element", {"command": save})
    )
    cause = failed_cause(result)
    assert f"{save} matches 2 elements but must match one" in cause
    assert '>Save</button> aka get_by_role("button", name="Save").first' in cause
    assert "nth(1)" in cause
    assert "Call log" not in cause
    assert "\n" not in cause


async def test_action_blocked_by_an_overlay_names_the_blocker(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [node("click_element", {"command": 'get_by_role("button", name="Covered")'}, **FAST)]
    result = await run_nodes(observed, settings, f"{test_site}/overlay.html", *nodes)
    cause = failed_cause(result)
    assert (
        'click_element on get_by_role("button", name="Covered") did not complete within 0.3 s'
        in cause
    )
    assert 'id="overlay"' in cause
    assert "intercepts pointer events" in cause
    assert observed.page.values["covered-clicks"] == "0"


async def test_wrong_element_kind_says_so_without_retrying_noise(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    body = {"command": 'get_by_role("heading", name="Inputs")', "input_text": "x"}
    result = await run_nodes(
        observed, settings, f"{test_site}/inputs.html", node("input_text", body)
    )
    cause = failed_cause(result)
    assert "Element is not an <input>, <textarea>, <select> or [contenteditable]" in cause
    assert "Locator.fill" not in cause


async def test_unknown_variable_in_a_command_fails_naming_the_node(
    observed: ObservingBrowser, settings: RunnerSettings, test_site: str
) -> None:
    command = 'get_by_text("{nope[0]}")'
    result = await run_nodes(
        observed, settings, f"{test_site}/clicks.html", node("click_element", {"command": command})
    )
    cause = failed_cause(result)
    assert cause.startswith(f"node 0 (click_element {command}): ")
    assert "unknown variable 'nope'" in cause
    assert result.nodes[0].tries == 1
