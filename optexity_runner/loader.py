"""File -> validated ``Automation``, or ``InvalidAutomationError`` naming JSON paths.

Everything that can be checked without a browser is checked here, so a bad file fails
with exit code 2 before Chromium starts: JSON syntax, the schema (unknown keys with a
"did you mean"), locator commands and conditions (parsed, never evaluated), and features
that need a provider this runner does not have.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from optexity_runner.errors import InputIssue, InvalidAutomationError
from schemas import Automation
from schemas.actions import AssertionAction, ExtractionAction
from schemas.parameters import SecureParameter


def load_automation(path: Path, providers: Sequence[str] = ()) -> Automation:
    """Read and validate an automation file; ``providers`` names configured model providers."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidAutomationError(
            str(path), [InputIssue("", f"cannot read file: {exc.strerror}")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise InvalidAutomationError(str(path), [InputIssue("", "file is not UTF-8 text")]) from exc
    return parse_automation(text, str(path), providers)


def parse_automation(
    text: str, source: str = "<automation>", providers: Sequence[str] = ()
) -> Automation:
    """Validate automation JSON text (see ``load_automation``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        issue = InputIssue("", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
        raise InvalidAutomationError(source, [issue]) from exc
    if not isinstance(data, dict):
        issue = InputIssue(
            "$", f"expected a JSON object at the top level, got {type(data).__name__}"
        )
        raise InvalidAutomationError(source, [issue])
    try:
        automation = Automation.model_validate(data)
    except ValidationError as exc:
        raise InvalidAutomationError(source, _issues_from(exc, data)) from exc
    issues = list(_provider_issues(automation, providers))
    if issues:
        raise InvalidAutomationError(source, issues)
    return automation


def _issues_from(error: ValidationError, data: Any) -> list[InputIssue]:
    issues = []
    for detail in error.errors(include_url=False):
        path, key = json_path(detail["loc"], data), None
        if detail["type"] in ("unknown_key", "unsupported_key"):
            key = detail.get("ctx", {}).get("key")
        if key is not None:
            path = f"{path}.{key}" if path != "$" else f"$.{key}"
        message = str(detail["msg"]).removeprefix("Value error, ")
        if detail["type"] == "missing":
            message = "required field is missing"
        elif detail["type"] == "union_tag_invalid":
            path, message = _unknown_tag(path, detail.get("ctx", {}))
        elif detail["type"] != "value_error" and _is_short_scalar(detail.get("input")):
            message = f"{message}, got {json.dumps(detail['input'])}"
        issues.append(InputIssue(path, message))
    return issues


def _unknown_tag(path: str, ctx: dict[str, Any]) -> tuple[str, str]:
    """``$.nodes[0].type: unknown node type 'action_nod'; did you mean 'action_node'?``."""
    tag = str(ctx.get("tag", ""))
    expected = re.findall(r"'([^']+)'", str(ctx.get("expected_tags", "")))
    field = str(ctx.get("discriminator", "'type'")).strip("'")
    close = difflib.get_close_matches(tag, expected, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "expected one of " + ", ".join(expected)
    return f"{path}.{field}", f"unknown node {field} {tag!r}; {hint}"


def _is_short_scalar(value: object) -> bool:
    return isinstance(value, int | float | bool) or (isinstance(value, str) and len(value) < 80)


def json_path(loc: Sequence[int | str], data: Any) -> str:
    """The JSON path (``$.nodes[3].interaction_action``) of a pydantic error location.

    Pydantic inserts union tags and validator names into ``loc``; walking the original data
    keeps only the steps that exist in the file.
    """
    path, node = "$", data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path, node = f"{path}[{part}]", node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part in node:
            path, node = f"{path}.{part}", node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not _is_internal(part):
            path, node = f"{path}.{part}", None
    return path


def _is_internal(part: str) -> bool:
    # Union members and validator names, e.g. "action_node", "function-after[...]".
    return (
        part.endswith("_node")
        or "[" in part
        or part in ("list[str]", "str", "int", "float", "bool")
    )


def _provider_issues(automation: Automation, providers: Sequence[str]) -> Iterator[InputIssue]:
    for path, model in walk_models(automation, "$"):
        if isinstance(model, ExtractionAction | AssertionAction):
            for key in type(model).provider_keys:
                if getattr(model, key) is not None and "llm" not in providers:
                    kind = "assertion_action" if isinstance(model, AssertionAction) else key
                    yield InputIssue(
                        f"{path}.{key}",
                        f"{kind} needs a model provider (LLM); none is configured in this runner",
                    )
        elif isinstance(model, SecureParameter):
            store = model.external_store
            if store is not None and store not in providers:
                yield InputIssue(
                    path,
                    f"{store} secrets need a secret-store provider; none is configured "
                    '(use {"env": "VAR"} to read the value from an environment variable)',
                )


def walk_models(value: Any, path: str) -> Iterator[tuple[str, BaseModel]]:
    """Every pydantic model inside ``value`` with its JSON path, depth first."""
    if isinstance(value, BaseModel):
        yield path, value
        for name in type(value).model_fields:
            child = getattr(value, name)
            if child is not None:
                yield from walk_models(child, f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_models(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk_models(item, f"{path}.{key}")
