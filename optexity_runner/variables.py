"""Variables of a run, the loop scope, and the redactor that keeps secrets out of records.

``Variables`` holds input, generated and secure values (every value is a list, as in the
format). ``Scope`` adds the loop frames of the node being run and answers placeholders
(``PlaceholderScope``), locator chain heads (``LocatorScope``) and expression names.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from optexity_runner.errors import PlaceholderError
from optexity_runner.placeholders import Placeholder
from optexity_runner.totp import totp

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

    from optexity_runner.locators import LocatorExpr
    from schemas.parameters import Parameters, SecureParameter

REDACTED = "[secret]"


class Redactor:
    """Replaces every known secret value with ``[secret]`` in text and JSON-like data.

    A secret is also recognised in the forms it takes on its way through a browser: percent-
    encoded in a URL, ``+``-encoded in a form body, HTML-escaped, JSON-escaped.
    """

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: str) -> None:
        """Register a value that must never be written (ignored when shorter than 2 chars)."""
        if len(secret) < 2 or secret in self._secrets:
            return
        self._secrets.add(secret)
        forms = {
            secret,
            quote(secret, safe=""),
            quote(secret),
            quote_plus(secret),
            html.escape(secret),
            json.dumps(secret)[1:-1],
        }
        self._forms |= {form for form in forms if len(form) >= 2}
        ordered = sorted(self._forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(form) for form in ordered))

    @property
    def active(self) -> bool:
        """True once any secret is known."""
        return self._pattern is not None

    def text(self, value: str) -> str:
        return self._pattern.sub(REDACTED, value) if self._pattern else value

    def binary(self, value: bytes) -> bytes:
        """``value`` (UTF-8 text inside, e.g. a trace file) with every form replaced."""
        for form in sorted(self._forms, key=len, reverse=True):
            value = value.replace(form.encode(), REDACTED.encode())
        return value

    def data(self, value: Any) -> Any:
        """A copy of ``value`` (str, list, dict, scalars) with secrets replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        return value


class Variables:
    """The run's named values. Secure values are produced at use time and redacted."""

    def __init__(
        self, parameters: Parameters, overrides: Mapping[str, list[str]], redactor: Redactor
    ) -> None:
        self.redactor = redactor
        self.values: dict[str, list[Any]] = {}
        self.secure: dict[str, list[SecureParameter]] = dict(parameters.secure_parameters)
        self.values.update({k: list(v) for k, v in parameters.generated_parameters.items()})
        self.values.update({k: list(v) for k, v in parameters.input_parameters.items()})
        for name, values in overrides.items():
            self.values[name] = list(values)
        for secure_values in self.secure.values():
            for value in secure_values:
                if value.env is not None and value.env in os.environ:
                    redactor.add(os.environ[value.env])

    def known(self, name: str) -> bool:
        return name in self.values or name in self.secure

    def set(self, name: str, values: list[Any]) -> None:
        """Store a generated variable (extraction, set_variable, assertions)."""
        self.values[name] = values

    def lookup(self, name: str) -> list[Any]:
        """All values of ``name``; secure values are produced (and registered as secrets)."""
        if name in self.secure:
            return [self._reveal(name, i, v) for i, v in enumerate(self.secure[name])]
        if name in self.values:
            return self.values[name]
        raise self._unknown(name)

    def _unknown(self, name: str) -> PlaceholderError:
        known = ", ".join(sorted(self.names())) or "none"
        return PlaceholderError(f"unknown variable {name!r}; known: {known}")

    def count(self, name: str) -> int | None:
        """How many values ``name`` has; ``None`` when there is no such variable."""
        if name in self.secure:
            return len(self.secure[name])
        if name in self.values:
            return len(self.values[name])
        return None

    def value(self, name: str, index: int) -> Any:
        """The ``index``-th value of ``name`` (a secure one is produced now)."""
        count = self.count(name)
        if count is None:
            raise self._unknown(name)
        if not 0 <= index < count:
            raise PlaceholderError(f"{name}[{index}]: {name!r} has {count} value(s)")
        if name in self.secure:
            return self._reveal(name, index, self.secure[name][index])
        return self.values[name][index]

    def names(self) -> frozenset[str]:
        return frozenset(self.values) | frozenset(self.secure)

    def _reveal(self, name: str, index: int, secure: SecureParameter) -> str:
        if secure.totp is not None:
            code = totp(secure.totp.totp_secret, secure.totp.digits)
            self.redactor.add(code)
            return code
        if secure.env is not None:
            if secure.env not in os.environ:
                raise PlaceholderError(
                    f"{name}[{index}] reads environment variable {secure.env}, which is not set"
                )
            value = os.environ[secure.env]
            self.redactor.add(value)
            return value
        raise PlaceholderError(f"{name}[{index}]: its secret store is not configured")


@dataclass(frozen=True)
class LoopFrame:
    """One level of loop: its index variable and what it iterates over."""

    index_name: str
    index: int
    variables: tuple[str, ...] = ()
    locator: LocatorExpr | None = None


def render(value: Any) -> str:
    """How a value is written into text: ``None`` becomes empty, booleans lower-case."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Scope:
    """Variables plus the loop frames of one node; immutable, a new one per loop level."""

    variables: Variables
    page: Callable[[], Page]
    frames: tuple[LoopFrame, ...] = field(default=())

    def enter(self, frame: LoopFrame) -> Scope:
        return Scope(self.variables, self.page, (*self.frames, frame))

    def index_value(self, name: str) -> int | None:
        for frame in reversed(self.frames):
            if frame.index_name == name:
                return frame.index
        return None

    def _index(self, placeholder: Placeholder) -> int:
        index = placeholder.index
        if isinstance(index, int):
            return index
        assert index is not None
        value = self.index_value(index)
        if value is None:
            raise PlaceholderError(f"{placeholder.text}: {index!r} is not a loop index in scope")
        return value

    # --- PlaceholderScope ---
    def resolve(self, placeholder: Placeholder) -> str | None:
        if placeholder.kind == "name":
            value = self.index_value(placeholder.name)
            return None if value is None else str(value)
        if placeholder.kind == "index_of":
            for frame in reversed(self.frames):
                if placeholder.name in frame.variables:
                    return str(frame.index)
            raise PlaceholderError(
                f"{placeholder.text}: no loop over {placeholder.name!r} in scope"
            )
        if placeholder.name == "locator" and not self.variables.known("locator"):
            raise PlaceholderError(f"{placeholder.text} is a locator; use it as a chain head")
        if not self.variables.known(placeholder.name):
            known = ", ".join(sorted(self.variables.names())) or "none"
            raise PlaceholderError(
                f"{placeholder.text}: unknown variable {placeholder.name!r} (known: {known})"
            )
        return render(self.variables.value(placeholder.name, self._index(placeholder)))

    # --- LocatorScope ---
    def resolve_locator(self, placeholder: Placeholder) -> Locator:
        # {locator[row]} names its loop by the index variable, so in nested locator loops an
        # outer row stays reachable; an int index ({locator[0]}) means the innermost loop.
        depths = range(len(self.frames) - 1, -1, -1)
        loops = [d for d in depths if self.frames[d].locator is not None]
        named = [d for d in loops if self.frames[d].index_name == placeholder.index]
        if not loops:
            raise PlaceholderError(f"{placeholder.text}: no loop over a locator in scope")
        depth = named[0] if named else loops[0]
        frame = self.frames[depth]
        assert frame.locator is not None
        index = frame.index if named else self._index(placeholder)
        outer = Scope(self.variables, self.page, self.frames[:depth])
        return frame.locator.bind(self.page(), outer).nth(index)

    # --- expressions.VariableLookup ---
    def __call__(self, name: str) -> object:
        index = self.index_value(name)
        if index is not None:
            return index
        return self.variables.lookup(name)
