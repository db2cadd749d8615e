"""Locator expressions: Optexity ``command`` strings, parsed and never evaluated.

``parse_locator`` reads a command such as ``locator("#facList a", has_text="{facility[0]}")``
with ``ast.parse(..., mode="eval")`` and walks the tree against a whitelist (``METHODS``) into a
frozen ``LocatorChain``. Nothing in the text is ever evaluated or looked up except through that
table. ``LocatorExpr.bind`` replays the chain on a real ``Page`` or ``Frame``, substituting
placeholders into the already-parsed literals, so a parameter value can change what is matched
but never the shape of the chain.

Two decisions worth knowing:

- No ``page.`` prefix. Optexity's runtime evaluates ``f"page.{command}"``, so a command that
  starts with ``page.`` fails there too; it is rejected here with a hint rather than guessed at.
- A chain that ends on a frame locator (``frame_locator("#f")``, ``locator("iframe")
  .content_frame``) binds to the frame's owner, the ``<iframe>`` element, so every command
  yields a ``Locator``.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, NoReturn, Protocol, TypeAlias

from playwright.async_api import Frame, FrameLocator, Locator, Page

from optexity_runner.errors import LocatorSyntaxError, PlaceholderError
from optexity_runner.placeholders import (
    Placeholder,
    PlaceholderScope,
    find_placeholders,
    parse_placeholder,
    substitute,
)

MAX_LENGTH = 4000
"""Longest accepted expression; recorded commands are far shorter, and it bounds parse work."""
MAX_NESTING = 8
"""Deepest accepted nesting of locators inside ``has=``, ``has_not=``, ``and_`` and ``or_``."""
_MAX_INT = 2**31 - 1  # no page has more matches; larger values are typos or probes

Receiver = Literal["root", "locator", "frame"]
"""What a step applies to: the page or frame itself, a ``Locator``, or a ``FrameLocator``."""
ArgKind = Literal["str", "int", "bool", "locator"]


@dataclass(frozen=True, eq=False)
class _Method:
    receivers: frozenset[Receiver]
    returns: Receiver | None  # None: the same kind as the receiver (nth/first/last)
    positional: tuple[tuple[str, ArgKind], ...] = ()
    keywords: Mapping[str, ArgKind] = field(default_factory=dict)
    is_property: bool = False


_ANY: frozenset[Receiver] = frozenset({"root", "locator", "frame"})
_CHAINED: frozenset[Receiver] = frozenset({"locator", "frame"})
_LOCATOR: frozenset[Receiver] = frozenset({"locator"})
_EXACT: dict[str, ArgKind] = {"exact": "bool"}
_HAS: dict[str, ArgKind] = {"has": "locator", "has_not": "locator"}
_HAS |= dict.fromkeys(("has_text", "has_not_text"), "str")
_ROLE: dict[str, ArgKind] = {"name": "str", "level": "int"}
_ROLE |= dict.fromkeys(
    ("exact", "checked", "disabled", "expanded", "include_hidden", "pressed", "selected"), "bool"
)

# Mirrors Playwright's own signatures (1.5x): which receiver has the method, what it returns,
# and which arguments it takes. Anything not in this table is refused.
METHODS: Mapping[str, _Method] = MappingProxyType(
    {
        "get_by_role": _Method(_ANY, "locator", (("role", "str"),), _ROLE),
        "get_by_label": _Method(_ANY, "locator", (("text", "str"),), _EXACT),
        "get_by_text": _Method(_ANY, "locator", (("text", "str"),), _EXACT),
        "get_by_placeholder": _Method(_ANY, "locator", (("text", "str"),), _EXACT),
        "get_by_alt_text": _Method(_ANY, "locator", (("text", "str"),), _EXACT),
        "get_by_title": _Method(_ANY, "locator", (("text", "str"),), _EXACT),
        "get_by_test_id": _Method(_ANY, "locator", (("test_id", "str"),)),
        "locator": _Method(_ANY, "locator", (("selector", "str"),), _HAS),
        "frame_locator": _Method(_ANY, "frame", (("selector", "str"),)),
        "filter": _Method(_LOCATOR, "locator", (), {**_HAS, "visible": "bool"}),
        "nth": _Method(_CHAINED, None, (("index", "int"),)),
        "first": _Method(_CHAINED, None, is_property=True),
        "last": _Method(_CHAINED, None, is_property=True),
        "content_frame": _Method(_LOCATOR, "frame", is_property=True),
        "and_": _Method(_LOCATOR, "locator", (("locator", "locator"),)),
        "or_": _Method(_LOCATOR, "locator", (("locator", "locator"),)),
    }
)
_ALLOWED = ", ".join(METHODS)


@dataclass(frozen=True)
class BarePlaceholder:
    """An argument that is a whole placeholder, e.g. ``nth({row})``; ``kind`` is the
    parameter's type, so ``"int"`` values are checked to be whole numbers when bound."""

    placeholder: Placeholder
    kind: Literal["str", "int"]


Arg: TypeAlias = "str | int | bool | BarePlaceholder | LocatorChain"


@dataclass(frozen=True)
class Step:
    """One whitelisted method call or property in a chain, with validated arguments."""

    name: str
    args: tuple[Arg, ...] = ()
    kwargs: tuple[tuple[str, Arg], ...] = ()


@dataclass(frozen=True)
class LocatorChain:
    """Steps applied in order to the page, or to the locator named by ``head``."""

    head: Placeholder | None
    steps: tuple[Step, ...]


class LocatorScope(PlaceholderScope, Protocol):
    """What ``bind`` asks of the run: placeholder text, plus stored locators for a chain
    head such as ``{locator[row]}``."""

    def resolve_locator(self, placeholder: Placeholder) -> Locator: ...


@dataclass(frozen=True)
class LocatorExpr:
    """A parsed command: ``source`` as written and the validated ``chain``."""

    source: str
    chain: LocatorChain

    def placeholders(self) -> list[Placeholder]:
        """Every placeholder used anywhere in the expression, in source order."""
        return list(_placeholders_in(self.chain))

    def bind(self, root: Page | Frame, scope: LocatorScope) -> Locator:
        """Build the Playwright locator on ``root``; a trailing frame locator yields its
        ``<iframe>`` element. Raises ``PlaceholderError`` for unknown or non-integer values."""
        target = _bind_chain(self.chain, root, scope)
        if isinstance(target, FrameLocator):
            return target.owner
        if isinstance(target, Locator):
            return target
        raise TypeError(f"{self.source!r} did not produce a locator")


def parse_locator(expression: str) -> LocatorExpr:
    """Parse and validate ``expression`` without evaluating it; raises ``LocatorSyntaxError``."""
    if len(expression) > MAX_LENGTH:
        # Quote only the start so the message stays readable; the caret marks the limit.
        shown = expression[: MAX_LENGTH + 10] + "..."
        reason = f"a locator may be at most {MAX_LENGTH} characters, this has {len(expression)}"
        raise LocatorSyntaxError(shown, MAX_LENGTH + 1, reason)
    body = expression.lstrip()  # eval mode rejects indentation; Optexity tolerates it
    if not body.strip():
        raise LocatorSyntaxError(expression, 1, "the locator expression is empty")
    parser = _Parser(expression, body)
    try:
        with warnings.catch_warnings():
            # Invalid escapes such as "\d" in a CSS or regex selector stay as written, as in
            # Optexity; the warning would only be noise at load time.
            warnings.simplefilter("ignore")
            tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        column = parser.char_column(exc.lineno or 1, exc.offset or 1)
        raise LocatorSyntaxError(expression, column, f"not a valid expression: {exc.msg}") from exc
    except ValueError as exc:  # some Pythons report NUL bytes this way
        raise LocatorSyntaxError(expression, 1, f"not a valid expression: {exc}") from exc
    except (RecursionError, MemoryError) as exc:
        raise LocatorSyntaxError(expression, 1, "the expression is nested too deeply") from exc
    try:
        chain, _ = parser.chain(tree.body, depth=0)
    except RecursionError as exc:  # nesting is capped, so only a tiny recursion limit gets here
        raise LocatorSyntaxError(expression, 1, "the expression is nested too deeply") from exc
    return LocatorExpr(expression, chain)


@dataclass(frozen=True)
class _Segment:
    name: str
    call: ast.Call | None
    column: int


_NOUNS: dict[type[ast.AST], str] = {
    ast.Name: "the bare name",
    ast.Lambda: "a lambda",
    ast.JoinedStr: "an f-string",
    ast.Subscript: "a subscript",
    ast.NamedExpr: "an assignment (:=)",
    ast.Starred: "a starred argument",
    ast.Call: "a call",
    ast.Attribute: "an attribute",
    ast.IfExp: "a conditional expression",
    ast.Await: "an await",
    ast.Dict: "a dict",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    **dict.fromkeys((ast.BinOp, ast.BoolOp, ast.UnaryOp, ast.Compare), "an operator"),
    **dict.fromkeys((ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp), "a comprehension"),
}
_HINTS: dict[type[ast.AST], str] = {
    ast.Name: "quote text, or write a placeholder like {name}",
    ast.JoinedStr: 'write placeholders inside a plain string: "{name[0]}"',
    ast.Subscript: "use .nth(i) to pick one match",
}
_CONSTANTS = {str: "a string", int: "a whole number", bool: "a boolean", float: "a float"}
_EXPECTED = {"str": 'a string such as "Submit"', "int": "a whole number", "bool": "True or False"}
_INT_TEXT = re.compile(r"\s*-?\d{1,10}\s*")


class _Parser:
    """Walks one expression's AST; knows the source, so every error gets a column."""

    def __init__(self, source: str, body: str) -> None:
        self.source = source
        self.body = body
        self.shift = len(source) - len(body)
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", body)]

    def char_column(self, lineno: int, char_offset: int) -> int:
        """1-based column in ``source`` of a 1-based (line, character offset)."""
        start = self.line_starts[min(max(lineno, 1), len(self.line_starts)) - 1]
        return min(max(self.shift + start + char_offset, 1), len(self.source) + 1)

    def byte_column(self, lineno: int, byte_offset: int) -> int:
        # ast offsets count UTF-8 bytes; the caret must count characters.
        start = self.line_starts[min(max(lineno, 1), len(self.line_starts)) - 1]
        prefix = self.body[start:].encode()[:byte_offset].decode(errors="ignore")
        return self.char_column(lineno, len(prefix) + 1)

    def fail(self, where: ast.expr | ast.keyword | int, reason: str) -> NoReturn:
        column = (
            where if isinstance(where, int) else self.byte_column(where.lineno, where.col_offset)
        )
        raise LocatorSyntaxError(self.source, column, reason)

    def describe(self, node: ast.expr) -> str:
        text = ast.get_source_segment(self.body, node) or ""
        text = text if len(text) <= 40 else text[:37] + "..."
        if isinstance(node, ast.Constant):
            noun = _CONSTANTS.get(type(node.value), f"a {type(node.value).__name__} value")
            return f"{noun} `{text}`"
        noun = _NOUNS.get(type(node), f"a {type(node).__name__}")
        hint = _HINTS.get(type(node))
        return f"{noun} `{text}`" + (f"; {hint}" if hint else "")

    def chain(self, node: ast.expr, depth: int) -> tuple[LocatorChain, Receiver]:
        """Validate a whole chain; returns it with the kind of object it ends on."""
        if depth > MAX_NESTING:
            self.fail(node, f"locators may be nested at most {MAX_NESTING} deep")
        segments, head = self._unwind(node)
        for segment in segments:
            if segment.name.startswith("__"):
                self.fail(segment.column, f"`{segment.name}`: dunder names are never allowed")
            if segment.name not in METHODS:
                reason = f"`{segment.name}` is not an allowed locator method; allowed: {_ALLOWED}"
                self.fail(segment.column, reason)
        kind: Receiver = "root" if head is None else "locator"
        steps = []
        for segment in segments:
            steps.append(self._step(segment, kind, depth))
            kind = METHODS[segment.name].returns or kind
        return LocatorChain(head, tuple(steps)), kind

    def _unwind(self, node: ast.expr) -> tuple[list[_Segment], Placeholder | None]:
        # Walk from the outermost call inwards iteratively, so long chains cost no recursion.
        segments: list[_Segment] = []
        while True:
            call = node if isinstance(node, ast.Call) else None
            current = node.func if isinstance(node, ast.Call) else node
            if isinstance(current, ast.Attribute):
                end = current.end_col_offset or 0
                column = self.byte_column(current.end_lineno or 1, end - len(current.attr.encode()))
                segments.append(_Segment(current.attr, call, column))
                node = current.value
                continue
            segments.reverse()
            if isinstance(current, ast.Name):
                if current.id == "page" and call is None and segments:
                    self.fail(current, "drop the leading `page.`: commands already run on the page")
                first = _Segment(
                    current.id, call, self.byte_column(current.lineno, current.col_offset)
                )
                return [first, *segments], None
            if isinstance(current, ast.Set):
                if call is not None:
                    self.fail(current, "a placeholder can start a chain but cannot be called")
                return segments, self._placeholder(current, head=True)
            self.fail(
                current,
                f"expected a locator method such as get_by_role(...), got {self.describe(current)}",
            )

    def _step(self, segment: _Segment, kind: Receiver, depth: int) -> Step:
        name, call, spec = segment.name, segment.call, METHODS[segment.name]
        if kind not in spec.receivers:
            if kind == "root":
                reason = f'`{name}` needs a locator before it, e.g. locator("li").{name}'
            else:
                reason = f"`{name}` cannot follow a frame locator; select an element inside first"
            self.fail(segment.column, reason)
        if spec.is_property:
            if call is not None:
                self.fail(segment.column, f"`{name}` is a property: write `.{name}` without ()")
            return Step(name)
        if call is None:
            self.fail(segment.column, f"`{name}` must be called, e.g. `{name}(...)`")
        for arg in call.args:
            if isinstance(arg, ast.Starred):
                self.fail(arg, "starred arguments (*args) are not allowed")
        for keyword in call.keywords:
            if keyword.arg is None:
                self.fail(keyword, "keyword unpacking (**kwargs) is not allowed")
        if len(call.args) != len(spec.positional):
            names = ", ".join(p for p, _ in spec.positional) or "none"
            extra = len(call.args) > len(spec.positional)
            where = call.args[len(spec.positional)] if extra else segment.column
            reason = f"`{name}` takes {len(spec.positional)} positional argument(s) ({names})"
            self.fail(where, f"{reason}, got {len(call.args)}")
        args = tuple(
            self._value(arg, arg_kind, depth, f"`{name}` argument `{param}`")
            for arg, (param, arg_kind) in zip(call.args, spec.positional, strict=True)
        )
        kwargs: dict[str, Arg] = {}
        for keyword in call.keywords:
            key = keyword.arg or ""
            if key not in spec.keywords:
                allowed = ", ".join(spec.keywords) or "none"
                self.fail(keyword, f"`{name}` does not accept `{key}=`; allowed: {allowed}")
            if key in kwargs:
                self.fail(keyword, f"`{key}=` is given twice")
            kwargs[key] = self._value(keyword.value, spec.keywords[key], depth, f"`{key}=`")
        return Step(name, args, tuple(kwargs.items()))

    def _value(self, node: ast.expr, kind: ArgKind, depth: int, what: str) -> Arg:
        if kind == "locator":
            chain, ends_on = self.chain(node, depth + 1)
            if ends_on != "locator":
                self.fail(node, f"{what} must be a locator, not a frame locator")
            return chain
        if isinstance(node, ast.Set) and kind != "bool":
            return BarePlaceholder(self._placeholder(node, head=False), kind)
        # Python reads -1 as an operator applied to 1; nth(-1) (the last match) is common.
        negated = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
        literal = node.operand if isinstance(node, ast.UnaryOp) and negated else node
        value = literal.value if isinstance(literal, ast.Constant) else None
        if kind == "int" and type(value) is int:
            number = -value if negated else value
            if abs(number) > _MAX_INT:
                self.fail(node, f"{what} is out of range (at most {_MAX_INT})")
            return number
        if not negated and kind == "str" and isinstance(value, str):
            return value
        if not negated and kind == "bool" and isinstance(value, bool):
            return value
        self.fail(node, f"{what} must be {_EXPECTED[kind]}, got {self.describe(node)}")

    def _placeholder(self, node: ast.Set, *, head: bool) -> Placeholder:
        text = ast.get_source_segment(self.body, node) or ""
        placeholder = parse_placeholder(text)
        if placeholder is None:
            forms = "{name}, {name[0]}, {name[i]} or {index_of(name)}"
            self.fail(node, f"`{text}` is not a placeholder; placeholders look like {forms}")
        if head and placeholder.kind != "value":
            self.fail(
                node, f"a chain can start only with a stored locator like {{rows[i]}}, not `{text}`"
            )
        return placeholder


def _placeholders_in(chain: LocatorChain) -> Iterator[Placeholder]:
    if chain.head is not None:
        yield chain.head
    for step in chain.steps:
        for value in (*step.args, *(value for _, value in step.kwargs)):
            if isinstance(value, LocatorChain):
                yield from _placeholders_in(value)
            elif isinstance(value, BarePlaceholder):
                yield value.placeholder
            elif isinstance(value, str):
                yield from find_placeholders(value)


def _bind_chain(
    chain: LocatorChain, root: Page | Frame, scope: LocatorScope
) -> Page | Frame | Locator | FrameLocator:
    target: Page | Frame | Locator | FrameLocator
    target = root if chain.head is None else scope.resolve_locator(chain.head)
    for step in chain.steps:
        spec = METHODS[step.name]  # the only names getattr ever sees come from this table
        member = getattr(target, step.name)
        if spec.is_property:
            target = member
            continue
        args = [_bind_value(value, root, scope) for value in step.args]
        kwargs = {key: _bind_value(value, root, scope) for key, value in step.kwargs}
        target = member(*args, **kwargs)
    return target


def _bind_value(value: Arg, root: Page | Frame, scope: LocatorScope) -> str | int | bool | Locator:
    if isinstance(value, LocatorChain):
        bound = _bind_chain(value, root, scope)
        if not isinstance(bound, Locator):
            raise TypeError("a nested locator did not produce a locator")
        return bound
    if isinstance(value, BarePlaceholder):
        text = scope.resolve(value.placeholder)
        if value.kind == "str":
            return value.placeholder.text if text is None else text
        if text is None or not _INT_TEXT.fullmatch(text) or abs(int(text)) > _MAX_INT:
            raise PlaceholderError(
                f"{value.placeholder.text} must be a whole number here, got {text!r}"
            )
        return int(text)
    if isinstance(value, str):
        # One pass over the parsed literal: an inserted value is never parsed or expanded again.
        return substitute(value, scope)
    return value
