"""``extraction_action``: read values from the page into variables and the run's outputs.

Kinds that need no model: ``locator``, ``state`` and ``screenshot``. The model-backed kinds
(``llm``, ``vision``, ``pdf``) go through the run's ``"llm"`` provider (``model_backed``).

Where a value goes. Its name is the kind's ``output_variable_name``, else the action's
``unique_identifier``, else ``node{index}_output`` (the node's index with ``.`` written ``_``:
``node3_0_output``). The variable of that name gets the value as a one-value list (a
``list[str]`` value is the list itself), so later steps read it as ``{name[0]}`` or
``name[0]`` in a condition, or loop over it. The run's outputs (``result.json`` ``outputs``)
get the value under the same name; inside a loop the outputs keep every iteration's value in
a list, in run order, while the variable holds the latest one. Outputs are redacted (a secret
shown on the page is written ``[secret]``); variables keep the real value.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Locator

from optexity_runner.actions.downloads import safe_filename, unique_path
from optexity_runner.actions.model_backed import LLM_PROVIDER, ask_for_fields, require_provider
from optexity_runner.context import StepContext
from optexity_runner.errors import RunError
from optexity_runner.flow import first_match, settled_count
from schemas import ExtractionAction
from schemas.actions import LocatorExtraction, ScreenshotExtraction, StateExtraction

#: What a locator extraction reads from an element: an attribute when one is named, a form
#: field's current value (a checkbox's checked state, a select's shown label), else the text
#: as rendered (``innerText``). Our own script, never text from the automation.
_READ_ELEMENT_JS = """(el, attribute) => {
  if (attribute !== null) return el.getAttribute(attribute);
  if (el instanceof HTMLInputElement && (el.type === "checkbox" || el.type === "radio"))
    return el.checked ? "true" : "false";
  if (el instanceof HTMLSelectElement)
    return el.selectedOptions.length ? el.selectedOptions[0].label : "";
  if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) return el.value;
  return el instanceof HTMLElement ? el.innerText : (el.textContent ?? "");
}"""
_READ_ALL_JS = f"(elements, attribute) => elements.map(el => ({_READ_ELEMENT_JS})(el, attribute))"
_READ_TIMEOUT_MS = 5_000

_TRUE = frozenset({"true", "yes", "y", "1", "on", "checked", "selected"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "unchecked"})
# Thousands separators, spaces, currency signs and a percent sign around a number.
_NUMBER_NOISE = re.compile(r"[\s,_$€£¥₹%]")
_INT = re.compile(r"[+-]?\d+(?:\.0*)?")
_FLOAT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PREVIEW_CHARS = 300
_PREVIEW_ITEMS = 20


def convert(text: str, kind: str) -> Any:
    """``text`` read as ``kind`` (``str int float bool list[str]``) by a fixed table.

    Numbers may carry spaces, thousands separators, a currency or percent sign
    (``"$1,250.00"`` is the float ``1250.0``; the int ``"12.0"`` is ``12``). Booleans are
    ``true/yes/y/1/on/checked/selected`` and ``false/no/n/0/off/unchecked``, any case.
    Raises ``ValueError`` quoting the text when it does not fit. Nothing is evaluated.
    """
    if kind in ("str", "list[str]"):
        return text
    cleaned = _NUMBER_NOISE.sub("", text)
    if kind == "int" and _INT.fullmatch(cleaned):
        return int(cleaned.split(".")[0])
    if kind == "float" and _FLOAT.fullmatch(cleaned) and math.isfinite(float(cleaned)):
        return float(cleaned)
    if kind == "bool" and text.strip().lower() in _TRUE | _FALSE:
        return text.strip().lower() in _TRUE
    shown = text if len(text) <= 60 else text[:57] + "..."
    raise ValueError(f"cannot read {shown!r} as {kind}")


def convert_answer(value: Any, kind: str) -> Any:
    """A model's JSON value as ``kind``: right-typed values pass, text goes through ``convert``."""
    if value is None or kind not in ("str", "int", "float", "bool", "list[str]"):
        return value
    if kind == "list[str]":
        items = value if isinstance(value, list) else [value]
        return [None if item is None else str(item) for item in items]
    if kind == "str":
        return value if isinstance(value, str) else str(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind in ("int", "float") and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if kind == "int" and float(value).is_integer() else value
    return convert(str(value), kind)


def output_name(step: StepContext, action: ExtractionAction, explicit: str | None) -> str:
    """The name a value is stored under (see the module docstring)."""
    if explicit:
        return explicit
    if action.unique_identifier:
        return step.text(action.unique_identifier)
    return "node" + re.sub(r"\W", "_", step.index) + "_output"


def assign(step: StepContext, name: str, values: list[Any]) -> None:
    """Set a generated variable; a secure parameter's name is refused, not shadowed."""
    if name in step.run.variables.secure:
        raise ValueError(f"{name!r} is a secure parameter and cannot be overwritten")
    step.run.variables.set(name, values)


def record_output(step: StepContext, name: str, value: Any) -> None:
    """Record ``value`` under ``name`` in the run's outputs (a list per name inside loops)."""
    state = step.run.state
    safe = step.run.variables.redactor.data(value)
    if not step.iteration:
        state.outputs[name] = safe
        state.looped_outputs.discard(name)
    elif name in state.looped_outputs:
        state.outputs[name].append(safe)
    else:
        state.outputs[name] = [safe]
        state.looped_outputs.add(name)
    step.emit("value_extracted", name=name, value=preview(value))


def preview(value: Any) -> Any:
    """``value`` shortened for an event line (long text cut, long lists trimmed)."""
    if isinstance(value, str) and len(value) > _PREVIEW_CHARS:
        return value[:_PREVIEW_CHARS] + "..."
    if isinstance(value, list) and len(value) > _PREVIEW_ITEMS:
        return [preview(item) for item in value[:_PREVIEW_ITEMS]] + ["..."]
    if isinstance(value, dict):
        return {key: preview(item) for key, item in value.items()}
    return value


async def extract(action: ExtractionAction, step: StepContext) -> None:
    """Run the one extraction kind that is set; values go to a variable and to the outputs.

    See the module docstring for names, ``extract_locator`` / ``extract_state`` /
    ``extract_screenshot`` for each kind, and ``model_backed`` for the model-backed ones.
    """
    if action.locator is not None:
        await extract_locator(action, action.locator, step)
    elif action.state is not None:
        await extract_state(action, action.state, step)
    elif action.screenshot is not None:
        await extract_screenshot(action, action.screenshot, step)
    else:
        await extract_with_model(action, step)


async def extract_locator(
    action: ExtractionAction, spec: LocatorExtraction, step: StepContext
) -> None:
    """Read the first match's text (or ``attribute``) as the ``extraction_format`` type.

    Waits up to ``timeout`` seconds for a match; none stores ``None`` (``list[str]``: ``[]``),
    after asking the model provider when ``extraction_instructions`` are given and one is
    configured. ``list[str]`` reads every match, once the list has stopped growing (as a
    locator loop does). Text is stripped. A value that does not fit the type fails the step,
    or is stored as ``None`` with ``allow_none: true``.
    """
    name = output_name(step, action, spec.output_variable_name)
    fmt = spec.extraction_format
    kind = fmt[spec.output_variable_name] if spec.output_variable_name else next(iter(fmt.values()))
    target = step.locator(spec.command)
    if kind == "list[str]":
        texts = await _read_all(target, spec)
        assign(step, name, texts)
        record_output(step, name, texts)
        return
    value: Any = None
    if await first_match(target, spec.timeout):
        first = target.first
        raw = await first.evaluate(_READ_ELEMENT_JS, spec.attribute, timeout=_READ_TIMEOUT_MS)
        value = _as_text(raw, spec)
    else:
        step.emit("element_not_found", name=name, command=spec.command)
        if spec.extraction_instructions:
            value = await _ask_model_instead(step, spec, name, kind)
    if isinstance(value, str):
        try:
            value = convert(value, kind)
        except ValueError as exc:
            if not action.allow_none:
                raise
            step.emit("value_not_converted", name=name, error=str(exc))
            value = None
    assign(step, name, [value])
    record_output(step, name, value)


async def _read_all(target: Locator, spec: LocatorExtraction) -> list[str | None]:
    count, _ = await settled_count(target, spec.timeout)
    if count == 0:
        return []
    raw = await target.evaluate_all(_READ_ALL_JS, spec.attribute)
    return [_as_text(item, spec) for item in raw]


def _as_text(raw: Any, spec: LocatorExtraction) -> str | None:
    if raw is None:
        return None  # the attribute is absent
    text = str(raw)
    return text if spec.attribute is not None else text.strip()


async def _ask_model_instead(
    step: StepContext, spec: LocatorExtraction, name: str, kind: str
) -> Any:
    if LLM_PROVIDER not in step.run.providers:
        step.emit(
            "model_fallback_unavailable",
            name=name,
            reason="extraction_instructions need a model provider; none is configured",
        )
        return None
    provider = require_provider(step, "the extraction_instructions fallback")
    assert spec.extraction_instructions is not None
    answer = await ask_for_fields(
        step, provider, spec.extraction_instructions, {name: kind}, with_screenshot=False
    )
    return convert_answer(answer.get(name), kind)


async def extract_state(action: ExtractionAction, spec: StateExtraction, step: StepContext) -> None:
    """The current tab's URL and title: variables ``<name>_url`` and ``<name>_title``, and
    ``{"url": ..., "title": ...}`` under ``<name>`` in the outputs."""
    name = output_name(step, action, spec.output_variable_name)
    url, title = step.page.url, await step.page.title()
    assign(step, f"{name}_url", [url])
    assign(step, f"{name}_title", [title])
    record_output(step, name, {"url": url, "title": title})


#: Files the runner itself writes into the run folder (also ``failure-attempt2``...);
#: a screenshot never takes their name.
_RESERVED_STEMS = frozenset({"final", "failure", "result", "events", "trace", "pause"})
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


async def extract_screenshot(
    action: ExtractionAction, spec: ScreenshotExtraction, step: StepContext
) -> None:
    """Save a screenshot of the current tab in the run folder as ``filename``.

    Placeholders in ``filename`` are substituted; the name is reduced to a safe file name,
    given ``.png`` unless it ends in ``.png``/``.jpg``/``.jpeg``, and numbered (``-2``...)
    rather than overwrite an earlier file. The variable and output hold the file's name,
    relative to the run folder.
    """
    name = output_name(step, action, None)
    filename = safe_filename(step.text(spec.filename), "screenshot.png")
    stem, suffix = Path(filename).stem, Path(filename).suffix.lower()
    if suffix not in _IMAGE_SUFFIXES:
        stem, suffix = filename, ".png"
    if stem.lower().split("-")[0] in _RESERVED_STEMS:
        stem += "-screenshot"
    path = unique_path(step.run.store.dir, stem + suffix)
    await step.page.screenshot(path=path, full_page=spec.full_page, timeout=30_000)
    saved = path.name
    step.emit("screenshot_saved", path=saved)
    assign(step, name, [saved])
    record_output(step, name, saved)


async def extract_with_model(action: ExtractionAction, step: StepContext) -> None:
    """``llm`` and ``vision`` extraction through the ``"llm"`` provider (``model_backed``).

    ``llm``: ``extraction_instructions``, ``extraction_format`` (name -> type),
    ``output_variable_names``, ``source`` (``"screenshot"`` attaches one). ``vision``:
    ``prompt`` and ``output_variable_names`` (text values, with a screenshot). The whole
    answer goes to the outputs; the named fields become variables. ``pdf`` is not supported.
    """
    kind = next(k for k in ExtractionAction.provider_keys if getattr(action, k) is not None)
    spec: dict[str, Any] = getattr(action, kind)
    provider = require_provider(step, f"extraction_action.{kind}")
    if kind == "pdf":
        raise RunError(f"node {step.index}: extraction_action.pdf is not supported by this runner")
    names = spec.get("output_variable_names") or []
    fields: Any
    if kind == "vision":
        instructions, fields, screenshot = spec.get("prompt"), dict.fromkeys(names, "str"), True
    else:
        instructions, fields = spec.get("extraction_instructions"), spec.get("extraction_format")
        screenshot = "screenshot" in (spec.get("source") or [])
    if not isinstance(instructions, str) or not isinstance(fields, dict) or not fields:
        raise ValueError(
            f"extraction_action.{kind} needs its instructions (text) and the fields to extract"
        )
    answer = await ask_for_fields(step, provider, instructions, fields, with_screenshot=screenshot)
    values = {field: convert_answer(answer.get(field), str(t)) for field, t in fields.items()}
    for field in names:
        value = values.get(field)
        assign(step, field, list(value) if isinstance(value, list) else [value])
    record_output(step, output_name(step, action, None), values)
