"""The committed JSON Schema and the examples: the schema is regenerated from the models,
and every example validates against both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.paths import EXAMPLES

from optexity_runner.loader import load_automation
from schemas.base import RECORDER_METADATA_KEYS
from schemas.generate import SCHEMA_PATH, render_schema
from schemas.interaction import INTERACTION_KINDS

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render_schema())
    return data


def test_committed_schema_is_up_to_date() -> None:
    assert SCHEMA_PATH.exists(), "schemas/automation.schema.json is missing: run `make schema`"
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == render_schema(), (
        "schemas/automation.schema.json is stale: run `make schema` (python -m schemas.generate)"
    )


def test_there_are_examples() -> None:
    names = {p.name for p in EXAMPLE_FILES}
    assert {"login.json", "claim_form.json", "new_tab.json", "download.json"} <= names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_validates_against_the_models(path: Path) -> None:
    automation = load_automation(path)
    assert automation.nodes


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_validates_against_the_json_schema(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), committed)


def test_schema_forbids_unknown_keys_but_allows_recorder_metadata(schema: dict[str, Any]) -> None:
    click = schema["$defs"]["ClickElement"]
    assert click["additionalProperties"] is False
    assert set(click["properties"]) >= RECORDER_METADATA_KEYS
    assert "comand" not in click["properties"]


def test_schema_lists_every_interaction_sub_action(schema: dict[str, Any]) -> None:
    properties = schema["$defs"]["InteractionAction"]["properties"]
    assert set(INTERACTION_KINDS) <= set(properties)
    assert "agentic_task" not in properties
    assert "python_script_action" not in schema["$defs"]["ActionNode"]["properties"]


def test_schema_carries_the_hitl_limit(schema: dict[str, Any]) -> None:
    # The 0 < x < 600 rule lives in a validator; the schema at least names the field.
    assert "max_wait_time" in schema["$defs"]["HumanInLoopAction"]["required"]


def test_schema_is_draft_2020_12(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Optexity automation"
