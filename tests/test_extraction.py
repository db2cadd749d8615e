"""``extraction_action`` in real Chromium: locator, state and screenshot kinds, where values
land (variables and outputs), and the model-provider extension point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser
from support.paths import EXAMPLES
from support.runs import automation, events_of, run_data

from optexity_runner.actions.extraction import convert
from optexity_runner.loader import parse_automation
from optexity_runner.result import RunResult
from optexity_runner.runner import RunRequest, run_automation
from optexity_runner.settings import RunnerSettings


def locator_node(
    command: str, name: str | None = None, kind: str = "str", **spec: Any
) -> dict[str, Any]:
    """An extraction_action node reading ``command`` as ``kind`` into ``name``."""
    body: dict[str, Any] = {"command": command, "extraction_format": {name or "value": kind}}
    if name is not None:
        body["output_variable_name"] = name
    extraction = {"locator": {**body, **spec.pop("locator", {})}, **spec}
    return {"type": "action_node", "extraction_action": extraction, "end_sleep_time": 0}


def node(**action: Any) -> dict[str, Any]:
    return {"type": "action_node", **action, "end_sleep_time": 0}


def variable_events(result: RunResult) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events_of(result) if e["event"] == "variable_set"}


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("  Open ", "str", "  Open "),
        ("$1,250.00", "float", 1250.0),
        ("€ 3 400,5", "float", 34005.0),  # a comma is always a thousands separator
        ("12.5%", "float", 12.5),
        ("-.5", "float", -0.5),
        ("1_000", "int", 1000),
        ("42", "int", 42),
        ("12.0", "int", 12),
        ("-7", "int", -7),
        ("Yes", "bool", True),
        ("checked", "bool", True),
        ("OFF", "bool", False),
        ("0", "bool", False),
        ("a", "list[str]", "a"),
    ],
)
def test_convert_reads_values_by_the_fixed_table(text: str, kind: str, expected: Any) -> None:
    value = convert(text, kind)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("12.5", "int"),
        ("nan", "float"),
        ("inf", "float"),
        ("1e400", "float"),
        ("0x1F", "int"),
        ("__import__('os').getcwd()", "int"),
        ("1+1", "int"),
        ("", "bool"),
        ("maybe", "bool"),
        ("", "float"),
    ],
)
def test_convert_refuses_values_that_do_not_fit_and_quotes_them(text: str, kind: str) -> None:
    with pytest.raises(ValueError, match=f"cannot read .* as {kind.replace('[', '.')}"):
        convert(text, kind)


async def test_locator_extraction_reads_text_attributes_fields_and_lists(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        locator_node('locator("#heading")', "heading"),
        locator_node('locator("#amount")', "amount", "float"),
        locator_node('locator("#count")', "count", "int"),
        locator_node('locator("#ratio")', "ratio", "float"),
        locator_node('locator("#flag")', "flag", "bool"),
        locator_node(
            'get_by_role("link", name="View claim")', "href", locator={"attribute": "href"}
        ),
        locator_node('locator("#link")', "no_attr", locator={"attribute": "data-missing"}),
        locator_node('locator("#tags li")', "tags", "list[str]"),
        locator_node('locator("#tags li")', "claims", "list[str]", locator={"attribute": "id"}),
        locator_node('locator("#name")', "name"),
        locator_node('locator("#agree")', "agree", "bool"),
        locator_node('locator("#plan")', "plan"),
        locator_node('locator("#notes")', "notes"),
    ]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs == {
        "heading": "Claim summary",  # as rendered: whitespace collapsed, stripped
        "amount": 1250.0,
        "count": 42,
        "ratio": 12.5,
        "flag": True,
        "href": "/claims/CLM-1001",
        "no_attr": None,
        "tags": ["auto", "urgent", "review"],
        "claims": [None, None, None],
        "name": "Maria",
        "agree": True,
        "plan": "Premium",
        "notes": "line one",
    }
    saved = json.loads((Path(result.run_dir) / "result.json").read_text())
    assert saved["outputs"] == result.outputs


async def test_element_not_found_stores_none_and_an_empty_list(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        locator_node('locator("#nowhere")', "missing", "int", locator={"timeout": 0.2}),
        locator_node('locator("#nowhere li")', "missing_list", "list[str]", locator={"timeout": 0}),
        {
            "type": "if_else_node",
            "condition": "missing[0] is None and len(missing_list) == 0",
            "if_nodes": [node(misc_action={"set_variable": {"name": "seen", "value": "none"}})],
        },
    ]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs == {"missing": None, "missing_list": []}
    assert variable_events(result) == {"seen": "none"}
    not_found = [e for e in events_of(result) if e["event"] == "element_not_found"]
    assert [e["name"] for e in not_found] == ["missing"]


async def test_default_output_name_is_the_node_index(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        node(sleep_action={"sleep_time": 0}),
        locator_node('locator("#word")'),
        {
            "type": "for_loop_node",
            "locator": 'locator("#tags li")',
            "nodes": [locator_node("{locator[index]}")],
        },
        node(extraction_action={"state": {}}),
        node(extraction_action={"unique_identifier": "page_info", "state": {}}),
    ]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs["node1_output"] == "pending"
    assert result.outputs["node2_0_output"] == ["auto", "urgent", "review"]
    assert result.outputs["node3_output"]["title"] == "Extraction fixture"
    assert result.outputs["page_info"] == result.outputs["node3_output"]


async def test_a_value_that_does_not_fit_its_type_fails_the_step_naming_it(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [locator_node('locator("#word")', "word", "int")]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.node_index == "0"
    assert "cannot read 'pending' as int" in result.error.message


async def test_allow_none_stores_none_for_a_value_that_does_not_fit(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        locator_node('locator("#huge")', "huge", "float", allow_none=True),
        locator_node('locator("#count")', "count", "int", allow_none=True),
    ]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs == {"huge": None, "count": 42}
    events = [e for e in events_of(result) if e["event"] == "value_not_converted"]
    assert [e["name"] for e in events] == ["huge"]


async def test_state_extraction_records_url_and_title_for_later_conditions(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    nodes = [
        node(extraction_action={"state": {"output_variable_name": "page"}}),
        {
            "type": "if_else_node",
            "condition": "'extraction' in page_url[0] and page_title[0] == 'Extraction fixture'",
            "if_nodes": [
                node(misc_action={"set_variable": {"name": "where", "value": "{page_title[0]}"}})
            ],
        },
    ]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs == {
        "page": {"url": f"{test_site}/extraction.html", "title": "Extraction fixture"}
    }
    assert variable_events(result) == {"where": "Extraction fixture"}


async def test_screenshots_are_saved_in_the_run_folder_without_overwriting(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    def shot(filename: str, uid: str) -> dict[str, Any]:
        return node(
            extraction_action={
                "unique_identifier": uid,
                "screenshot": {"filename": filename, "full_page": False},
            }
        )

    nodes = [
        {
            "type": "for_loop_node",
            "variable_name": "pages",
            "nodes": [shot("page-{pages[index]}", "shots")],
        },
        shot("../../final.png", "final_shot"),
        shot("again.jpg", "first"),
        shot("again.jpg", "second"),
    ]
    data = automation(
        f"{test_site}/extraction.html",
        nodes,
        parameters={"input_parameters": {"pages": ["a", "b"]}},
        take_final_screenshot=True,
    )
    result = await run_data(data, browser, settings)
    assert result.status == "success", result.error
    assert result.outputs == {
        "shots": ["page-a.png", "page-b.png"],
        "final_shot": "final-screenshot.png",
        "first": "again.jpg",
        "second": "again-2.jpg",
    }
    run_dir = Path(result.run_dir)
    assert (run_dir / "page-a.png").read_bytes().startswith(b"\x89PNG")
    assert (run_dir / "again-2.jpg").read_bytes().startswith(b"\xff\xd8")
    assert result.final_screenshot == "final.png"
    assert (run_dir / "final-screenshot.png").exists()


async def test_an_extracted_value_feeds_a_later_step(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [
        locator_node('locator("#claims-table tbody tr").nth(3).locator("td").first', "claim"),
        {
            "type": "action_node",
            "interaction_action": {"go_to_url": {"url": demo_site.base_url + "/claims/{claim[0]}"}},
            "end_sleep_time": 0,
        },
        node(extraction_action={"state": {"output_variable_name": "detail"}}),
    ]
    result = await run_data(automation(f"{demo_site.base_url}/claims", nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs["claim"] == "CLM-1004"
    assert result.outputs["detail"]["url"].endswith("/claims/CLM-1004")
    assert "CLM-1004" in result.outputs["detail"]["title"]


async def test_outputs_are_redacted_but_variables_keep_the_value(
    browser: Browser, settings: RunnerSettings, test_site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXTRACTION_TEST_SECRET", "Maria")
    nodes = [
        locator_node('locator("#name")', "name"),
        {
            "type": "if_else_node",
            "condition": "name[0] == 'Maria'",
            "if_nodes": [node(misc_action={"set_variable": {"name": "matched", "value": True}})],
        },
    ]
    parameters = {
        "input_parameters": {},
        "secure_parameters": {"pw": [{"env": "EXTRACTION_TEST_SECRET"}]},
    }
    result = await run_data(
        automation(f"{test_site}/extraction.html", nodes, parameters=parameters), browser, settings
    )
    assert result.status == "success", result.error
    assert result.outputs == {"name": "[secret]"}
    assert variable_events(result) == {"matched": True}


# --- model-backed kinds: the provider extension point ------------------------------------


class ScriptedProvider:
    """A stand-in model: answers each prompt with the next scripted text, keeps the prompts."""

    name = "scripted"

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.screenshots: list[bytes | None] = []

    async def complete(self, prompt: str, *, screenshot: bytes | None = None) -> str:
        self.prompts.append(prompt)
        self.screenshots.append(screenshot)
        return self.answers.pop(0)


async def run_with_providers(
    data: dict[str, Any], browser: Browser, settings: RunnerSettings, providers: dict[str, Any]
) -> RunResult:
    # The loader refuses model-backed kinds unless told a provider exists.
    parsed = parse_automation(json.dumps(data), "<test>", providers=["llm"])
    request = RunRequest(parsed, "test", EXAMPLES, settings, providers=providers)
    return await run_automation(request, browser)


LLM_EXTRACTION = {
    "llm": {
        "extraction_instructions": "Read the claim amount and whether the box is ticked.",
        "extraction_format": {"amount": "float", "agreed": "bool", "tags": "list[str]"},
        "output_variable_names": ["amount", "tags"],
        "source": ["axtree", "screenshot"],
    }
}


async def test_model_backed_steps_without_a_provider_fail_with_provider_required(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    for action in (
        {"extraction_action": LLM_EXTRACTION},
        {"assertion_action": {"llm": {"extraction_instructions": "The page is a claim"}}},
    ):
        data = automation(f"{test_site}/extraction.html", [node(**action)])
        result = await run_with_providers(data, browser, settings, providers={})
        assert result.status == "failed"
        assert result.error is not None
        assert result.error.type == "ProviderRequiredError"
        assert "needs a model provider" in result.error.message
        assert len(result.attempts) == 1


async def test_llm_extraction_and_assertion_use_the_llm_provider(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    provider = ScriptedProvider(
        'Sure! ```json\n{"amount": "$1,250.00", "agreed": true, "tags": ["auto", "urgent"]}\n```',
        '{"assertion_result": true, "assertion_reason": "the amount is shown"}',
        '{"assertion_result": false, "assertion_reason": "no signature box"}',
    )
    nodes = [
        node(extraction_action={"unique_identifier": "claim", **LLM_EXTRACTION}),
        {
            "type": "if_else_node",
            "condition": "amount[0] > 1000 and tags[1] == 'urgent'",
            "if_nodes": [
                node(
                    assertion_action={
                        "llm": {"extraction_instructions": "Amount {amount[0]} shown"}
                    }
                )
            ],
        },
        node(assertion_action={"llm": {"extraction_instructions": "A signature box is shown"}}),
    ]
    data = automation(f"{test_site}/extraction.html", nodes)
    result = await run_with_providers(data, browser, settings, providers={"llm": provider})
    assert result.outputs == {
        "claim": {"amount": 1250.0, "agreed": True, "tags": ["auto", "urgent"]}
    }
    assert "Read the claim amount" in provider.prompts[0]
    assert "- amount: float" in provider.prompts[0]
    assert "Claim summary" in provider.prompts[0]  # the page's text goes with the prompt
    assert provider.screenshots[0] is not None
    assert "Amount 1250.0 shown" in provider.prompts[1]
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.node_index == "2"
    assert "assertion failed: no signature box" in result.error.message


async def test_instructions_fallback_without_a_provider_keeps_none_and_says_so(
    browser: Browser, settings: RunnerSettings, test_site: str
) -> None:
    instructions = {"timeout": 0, "extraction_instructions": "Find the amount"}
    nodes = [locator_node('locator("#nowhere")', "amount", "float", locator=instructions)]
    result = await run_data(automation(f"{test_site}/extraction.html", nodes), browser, settings)
    assert result.status == "success", result.error
    assert result.outputs == {"amount": None}
    assert any(e["event"] == "model_fallback_unavailable" for e in events_of(result))

    provider = ScriptedProvider('{"amount": "99.5"}')
    data = automation(f"{test_site}/extraction.html", nodes)
    result = await run_with_providers(data, browser, settings, providers={"llm": provider})
    assert result.outputs == {"amount": 99.5}
