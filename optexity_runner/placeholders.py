"""Placeholders: the ``{name[i]}`` grammar and one-pass substitution.

Forms (AUTOMATION_FORMAT.md, "Substitution" and loops):

- ``{name[0]}``: the 0-th value of variable ``name``;
- ``{name[index]}``: the value at the current value of loop index variable ``index``;
- ``{index_of(name)}``: the current loop index of the loop over ``name``;
- ``{index}``: a bare name, the current value of an index variable in scope. A bare name
  that is not an index variable in scope is left as literal text (braces are common in
  ordinary strings); every other form naming an unknown variable is an error.

Substitution is a single pass over the original text: an inserted value is never scanned
again, so a parameter whose value is ``{pw[0]}`` is inserted literally.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

PlaceholderKind = Literal["value", "index_of", "name"]

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
PLACEHOLDER_RE = re.compile(
    r"\{\s*(?:index_of\(\s*(?P<of>" + _IDENT + r")\s*\)"
    r"|(?P<name>" + _IDENT + r")(?:\[\s*(?P<index>\d+|" + _IDENT + r")\s*\])?)\s*\}"
)


@dataclass(frozen=True)
class Placeholder:
    """One placeholder occurrence: ``kind`` says which form, ``index`` is an int literal,
    the name of an index variable, or ``None`` (forms ``{name}`` and ``{index_of(x)}``)."""

    kind: PlaceholderKind
    name: str
    index: int | str | None
    text: str

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Placeholder:
        if match.group("of") is not None:
            return cls("index_of", match.group("of"), None, match.group(0))
        raw = match.group("index")
        if raw is None:
            return cls("name", match.group("name"), None, match.group(0))
        index: int | str = int(raw) if raw.isdigit() else raw
        return cls("value", match.group("name"), index, match.group(0))


class PlaceholderScope(Protocol):
    """What substitution asks for each placeholder.

    ``resolve`` returns the text to insert, ``None`` to leave the placeholder as literal
    text (only for a bare ``{name}`` that is not an index variable), or raises
    ``PlaceholderError`` naming the unknown variable or index.
    """

    def resolve(self, placeholder: Placeholder) -> str | None: ...


def find_placeholders(text: str) -> Iterator[Placeholder]:
    """Every placeholder in ``text``, in order."""
    for match in PLACEHOLDER_RE.finditer(text):
        yield Placeholder.from_match(match)


def parse_placeholder(text: str) -> Placeholder | None:
    """``text`` as one whole placeholder, or ``None`` when it is not exactly one."""
    match = PLACEHOLDER_RE.fullmatch(text.strip())
    return Placeholder.from_match(match) if match else None


def substitute(text: str, scope: PlaceholderScope) -> str:
    """Replace every placeholder in one pass; inserted values are never expanded again."""

    def replace(match: re.Match[str]) -> str:
        value = scope.resolve(Placeholder.from_match(match))
        return match.group(0) if value is None else value

    return PLACEHOLDER_RE.sub(replace, text)
