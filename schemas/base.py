"""The base model of the format: strict keys with a "did you mean" hint.

A typo such as ``"comand"`` must not validate and then do nothing, so every model forbids
unknown keys. Keys that Optexity's recorder writes as metadata are accepted and dropped.
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

#: Written by Optexity's recorder as metadata; accepted anywhere and ignored.
RECORDER_METADATA_KEYS = frozenset(
    {
        "coordinates",
        "keyword",
        "recording_screenshot",
        "bounding_box_variables",
        "localized_axtree_string",
    }
)


def _document_ignored_keys(schema: dict[str, Any], model: type[Any]) -> None:
    # Editors validate with the JSON Schema: keys we accept and drop must not be flagged there.
    properties = schema.setdefault("properties", {})
    for key in sorted(RECORDER_METADATA_KEYS | model.ignored_keys):
        properties.setdefault(key, {"description": "Accepted and ignored (Optexity metadata)."})


class StrictModel(BaseModel):
    """Forbids unknown keys, with the nearest known key as a hint."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        json_schema_extra=_document_ignored_keys,
    )

    #: Extra keys this model accepts and drops (besides ``RECORDER_METADATA_KEYS``).
    ignored_keys: ClassVar[frozenset[str]] = frozenset()
    #: Keys of Optexity's format this runner refuses, with the reason shown to the user.
    unsupported_keys: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = {name for name in cls.model_fields}
        known |= {f.alias for f in cls.model_fields.values() if f.alias}
        dropped = RECORDER_METADATA_KEYS | cls.ignored_keys
        cleaned = {}
        for key, value in data.items():
            if key in known:
                cleaned[key] = value
            elif key in dropped:
                continue
            elif key in cls.unsupported_keys:
                raise PydanticCustomError(
                    "unsupported_key",
                    "{quoted} is not supported: {reason}",
                    {"key": key, "quoted": repr(key), "reason": cls.unsupported_keys[key]},
                )
            else:
                close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
                if close:
                    hint = f"did you mean {close[0]!r}?"
                else:
                    hint = "allowed here: " + ", ".join(sorted(known - {"type"}))
                raise PydanticCustomError(
                    "unknown_key",
                    "unknown key {quoted}; {hint}",
                    {"key": key, "quoted": repr(key), "hint": hint},
                )
        return cleaned


def exactly_one(model: BaseModel, fields: tuple[str, ...], where: str) -> str:
    """The name of the one field of ``fields`` that is set; ``ValueError`` otherwise."""
    present = [name for name in fields if getattr(model, name) is not None]
    if len(present) != 1:
        found = ", ".join(present) if present else "none"
        raise ValueError(f"{where} needs exactly one of {', '.join(fields)}; found: {found}")
    return present[0]
