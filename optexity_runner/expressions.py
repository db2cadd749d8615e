"""The safe expression language of ``if_else_node.condition`` and ``set_variable.expression``.

Users write these as they do for Optexity, which runs them through Python ``eval`` after a
textual substitution. Here an expression is parsed once with ``ast`` (eval mode), checked
against a whitelist and compiled into a tree of small frozen nodes; evaluation walks that tree
and never calls ``eval``, ``exec`` or ``compile``. Values follow Python semantics (truthiness,
comparisons, ``and``/``or`` returning an operand) so existing automations behave the same.

Accepted: variable names (a variable's list of values, or a loop index variable's int),
``name[0]``, ``name[-1]``, ``name[index]``, str/int/float/bool/None literals, list and tuple
displays, ``== != < <= > >= in not in is is not``, ``and or not``, ``+ - * / // %``, unary
``- +`` and ``len(x)``. ``{name[0]}`` written bare is the variable reference itself, and a
placeholder inside a string literal (``'{x[0]}'``) is substituted, in one pass, when evaluated.
"""

from __future__ import annotations

import ast
import builtins
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, NoReturn, Protocol

from optexity_runner.errors import ExpressionSyntaxError, PlaceholderError, RunError
from optexity_runner.placeholders import PlaceholderScope, find_placeholders, substitute

MAX_SOURCE_CHARS = 2000
MAX_NODES = 200
MAX_DEPTH = 30
MAX_RESULT_LENGTH = 100_000
# Bounds int * int; a 2000-char literal is ~6600 bits, so real values are far below this.
MAX_INT_BITS = 10_000


class VariableLookup(Protocol):
    """Returns a variable's list of values, or a loop index variable's int.

    Raises ``PlaceholderError`` when ``name`` is unknown.
    """

    def __call__(self, name: str) -> object: ...


class ExpressionEvaluationError(RunError):
    """Raised by ``Expression.evaluate`` when a well-formed expression cannot be computed.

    Covers type mismatches, division by zero and results over the size limits. The message
    quotes the expression as written (placeholders unsubstituted) and names operand types,
    never operand values, which may be secrets.
    """

    def __init__(self, expression: str, reason: str) -> None:
        self.expression = expression
        self.reason = reason
        super().__init__(f"cannot evaluate {expression!r}: {reason}")


class _Failure(Exception):
    """Internal: an evaluation failure, turned into ``ExpressionEvaluationError`` at the top."""


@dataclass(frozen=True)
class _Env:
    lookup: VariableLookup
    scope: PlaceholderScope


class _Node(ABC):
    @abstractmethod
    def run(self, env: _Env) -> object: ...


@dataclass(frozen=True)
class _Literal(_Node):
    value: object

    def run(self, env: _Env) -> object:
        return self.value


@dataclass(frozen=True)
class _Template(_Node):
    text: str

    def run(self, env: _Env) -> object:
        return substitute(self.text, env.scope)


@dataclass(frozen=True)
class _Variable(_Node):
    name: str

    def run(self, env: _Env) -> object:
        return env.lookup(self.name)


@dataclass(frozen=True)
class _Item(_Node):
    name: str
    index: int | str  # an int literal or the name of a loop index variable

    def run(self, env: _Env) -> object:
        values = env.lookup(self.name)
        if not isinstance(values, list | tuple):
            raise _Failure(f"{self.name!r} is a {type(values).__name__}, not a list variable")
        position = self.index
        if isinstance(position, str):
            value = env.lookup(position)
            # bool is an int subclass, but True as an index is a mistake, not a position.
            if not isinstance(value, int) or isinstance(value, bool):
                kind = type(value).__name__
                raise _Failure(f"index variable {position!r} is a {kind}, not an int")
            position = value
        try:
            return values[position]
        except IndexError:
            raise PlaceholderError(
                f"{self.name}[{self.index}]: index {position} is out of range,"
                f" {self.name!r} has {len(values)} value(s)"
            ) from None


@dataclass(frozen=True)
class _Display(_Node):
    items: tuple[_Node, ...]
    is_tuple: bool

    def run(self, env: _Env) -> object:
        values = [item.run(env) for item in self.items]
        return tuple(values) if self.is_tuple else values


@dataclass(frozen=True)
class _Len(_Node):
    operand: _Node

    def run(self, env: _Env) -> object:
        value = self.operand.run(env)
        if not isinstance(value, str | list | tuple):
            raise _Failure(f"len() of a {type(value).__name__}")
        return len(value)


@dataclass(frozen=True)
class _Unary(_Node):
    symbol: str  # "not", "-" or "+"
    operand: _Node

    def run(self, env: _Env) -> object:
        value = self.operand.run(env)
        if self.symbol == "not":
            return not value
        if not isinstance(value, int | float):
            raise _Failure(f"unary {self.symbol} on a {type(value).__name__}")
        return -value if self.symbol == "-" else +value


@dataclass(frozen=True)
class _BoolOp(_Node):
    is_and: bool
    operands: tuple[_Node, ...]

    def run(self, env: _Env) -> object:
        # Python semantics: stop at the first deciding operand and return it as is.
        value: object = None
        for operand in self.operands:
            value = operand.run(env)
            if bool(value) != self.is_and:
                return value
        return value


_Comparison = Callable[[Any, Any], object]
_COMPARISONS: dict[type[ast.cmpop], _Comparison] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda item, container: item in container,
    ast.NotIn: lambda item, container: item not in container,
}


@dataclass(frozen=True)
class _Compare(_Node):
    left: _Node
    steps: tuple[tuple[_Comparison, _Node], ...]

    def run(self, env: _Env) -> object:
        # Chained like Python: a < b <= c evaluates b once and stops at the first False.
        left = self.left.run(env)
        result: object = True
        for compare, node in self.steps:
            right = node.run(env)
            result = compare(left, right)
            if not result:
                return result
            left = right
        return result


_NUMBER_OPS: dict[str, Callable[[Any, Any], object]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
}
# Symbols of every binary operator, to point at one in an error. Only those in _NUMBER_OPS
# are allowed: ** builds a huge number in one step, the bitwise ones have no use here.
_BINARY_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
    ast.Pow: "**", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
    ast.BitXor: "^", ast.BitAnd: "&",
}  # fmt: skip


def _check_length(length: int, symbol: str) -> None:
    if length > MAX_RESULT_LENGTH:
        limit = MAX_RESULT_LENGTH
        raise _Failure(f"result of {symbol} would have {length} items; the limit is {limit}")


def _bits(number: int | float) -> int:
    return number.bit_length() if isinstance(number, int) else 0


def _arithmetic(symbol: str, left: object, right: object) -> object:
    if isinstance(left, int | float) and isinstance(right, int | float):
        both_int = isinstance(left, int) and isinstance(right, int)
        if symbol == "*" and both_int and _bits(left) + _bits(right) > MAX_INT_BITS:
            raise _Failure(f"result of * would exceed {MAX_INT_BITS} bits")
        return _NUMBER_OPS[symbol](left, right)
    if symbol == "+" and isinstance(left, str | list | tuple) and isinstance(right, type(left)):
        _check_length(len(left) + len(right), symbol)
        return operator.add(left, right)
    if symbol == "*":
        sequence, count = (right, left) if isinstance(left, int) else (left, right)
        if isinstance(sequence, str | list | tuple) and isinstance(count, int):
            _check_length(len(sequence) * max(count, 0), symbol)
            return sequence * count
    # % on a string would be printf-style formatting, which is not part of the language.
    names = f"{type(left).__name__} and {type(right).__name__}"
    raise _Failure(f"unsupported operand types for {symbol}: {names}")


@dataclass(frozen=True)
class _Binary(_Node):
    symbol: str
    left: _Node
    right: _Node

    def run(self, env: _Env) -> object:
        return _arithmetic(self.symbol, self.left.run(env), self.right.run(env))


# Messages for forms that are rejected outright; any other unknown form gets a generic one.
_REJECTED_NODES: dict[type[ast.AST], str] = {
    ast.Dict: "dict displays are not allowed",
    ast.Lambda: "lambda is not allowed",
    **dict.fromkeys(
        (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
        "comprehensions and generator expressions are not allowed",
    ),
    ast.JoinedStr: "f-strings are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.Starred: "* unpacking is not allowed",
    ast.Slice: "slices are not allowed; use a single index such as x[0]",
    ast.IfExp: "conditional expressions (a if c else b) are not allowed",
}
_BUILTIN_NAMES = frozenset(dir(builtins))


class _Compiler:
    """Turns a parsed ``ast`` tree into ``_Node`` objects, or raises at the offending column.

    Children left of an offending token are compiled first, so the error points at the
    leftmost problem in reading order.
    """

    def __init__(self, source: str, lead: int) -> None:
        self.source = source
        self.lead = lead  # leading spaces/tabs stripped before parsing, as eval() does
        self.lines = source[lead:].split("\n")
        self.line_starts = [0, *accumulate(len(line) + 1 for line in self.lines[:-1])]
        self.count = 0
        self.names: set[str] = set()

    def offset(self, lineno: int, byte_col: int) -> int:
        """0-based character offset in ``source``; ``ast`` columns count UTF-8 bytes."""
        line = self.lines[lineno - 1]
        chars = len(line.encode()[:byte_col].decode("utf-8", "ignore"))
        return self.lead + self.line_starts[lineno - 1] + chars

    def fail(self, where: ast.expr | int, reason: str) -> NoReturn:
        offset = where if isinstance(where, int) else self.offset(where.lineno, where.col_offset)
        raise ExpressionSyntaxError(self.source, offset + 1, reason)

    def end(self, node: ast.expr) -> int:
        return self.offset(node.end_lineno or node.lineno, node.end_col_offset or 0)

    def token(self, text: str, after: ast.expr) -> int:
        start = self.end(after)
        found = self.source.find(text, start)
        return start if found < 0 else found

    def name(self, node: ast.Name) -> str:
        if node.id.startswith("__"):
            self.fail(node, f"names starting with '__' are not allowed: {node.id}")
        if node.id == "len":
            self.fail(node, "len can only be called, as len(x)")
        self.names.add(node.id)
        return node.id

    def compile(self, node: ast.expr, depth: int = 0) -> _Node:
        self.count += 1
        if self.count > MAX_NODES:
            self.fail(node, f"expression is too long: more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            self.fail(node, f"expression is nested more than {MAX_DEPTH} levels deep")
        inner = depth + 1
        match node:
            case ast.Constant(value=value):
                return self.constant(node, value)
            case ast.Name():
                return _Variable(self.name(node))
            case ast.Subscript(value=target, slice=index):
                return self.subscript(node, target, index, inner)
            case ast.Set(elts=[ast.Name() | ast.Subscript() as reference]):
                # Python reads a bare {x[0]} as a set display; Optexity users mean x[0].
                return self.compile(reference, inner)
            case ast.Set():
                self.fail(node, "set displays are not allowed; only {name} or {name[i]}")
            case ast.List(elts=items) | ast.Tuple(elts=items):
                nodes = tuple(self.compile(item, inner) for item in items)
                return _Display(nodes, isinstance(node, ast.Tuple))
            case ast.BoolOp(op=op, values=values):
                operands = tuple(self.compile(value, inner) for value in values)
                return _BoolOp(isinstance(op, ast.And), operands)
            case ast.UnaryOp(op=ast.Not() | ast.USub() | ast.UAdd() as op, operand=operand):
                symbol = {ast.Not: "not", ast.USub: "-", ast.UAdd: "+"}[type(op)]
                return _Unary(symbol, self.compile(operand, inner))
            case ast.UnaryOp():
                self.fail(node, "the ~ operator is not allowed")
            case ast.BinOp(left=left, op=op, right=right):
                left_node = self.compile(left, inner)
                symbol = _BINARY_SYMBOLS[type(op)]
                if symbol not in _NUMBER_OPS:
                    self.fail(self.token(symbol, left), f"the {symbol} operator is not allowed")
                return _Binary(symbol, left_node, self.compile(right, inner))
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                first = self.compile(left, inner)
                steps = tuple(
                    (_COMPARISONS[type(op)], self.compile(right, inner))
                    for op, right in zip(ops, comparators, strict=True)
                )
                return _Compare(first, steps)
            case ast.Call():
                return self.call(node, inner)
            case ast.Attribute(value=target, attr=attr):
                self.compile(target, inner)
                self.fail(self.token(".", target), f"attribute access (.{attr}) is not allowed")
        self.fail(node, _REJECTED_NODES.get(type(node), f"{type(node).__name__} is not allowed"))

    def constant(self, node: ast.expr, value: object) -> _Node:
        if isinstance(value, str):
            placeholders = list(find_placeholders(value))
            for placeholder in placeholders:
                # A bare {name} that is not an index variable stays literal text, so only
                # the other forms name variables the loader should check.
                if placeholder.kind != "name":
                    self.names.add(placeholder.name)
                if isinstance(placeholder.index, str):
                    self.names.add(placeholder.index)
            return _Template(value) if placeholders else _Literal(value)
        if value is None or isinstance(value, bool | int | float):
            return _Literal(value)
        self.fail(node, f"{type(value).__name__} literals are not allowed")

    def subscript(self, node: ast.expr, target: ast.expr, index: ast.expr, depth: int) -> _Node:
        if not isinstance(target, ast.Name):
            self.compile(target, depth)  # reports a more specific problem inside, if any
            self.fail(node, "only a variable can be indexed, as name[0] or name[index]")
        name = self.name(target)
        match index:
            case ast.Constant(value=int() as position) if not isinstance(position, bool):
                return _Item(name, position)
            case ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=int() as position)) if (
                not isinstance(position, bool)
            ):
                return _Item(name, -position)
            case ast.Name() | ast.Set(elts=[ast.Name()]):
                # x[{index}] is how a placeholder-minded user writes x[index].
                index_name = index if isinstance(index, ast.Name) else index.elts[0]
                assert isinstance(index_name, ast.Name)
                return _Item(name, self.name(index_name))
            case ast.Slice():
                self.fail(index, _REJECTED_NODES[ast.Slice])
        self.fail(index, "an index must be an int literal or a loop index variable")

    def call(self, node: ast.Call, depth: int) -> _Node:
        func, args = node.func, node.args
        if not isinstance(func, ast.Name):
            self.compile(func, depth)  # lambda, attribute access...: say exactly what
            self.fail(self.end(func), "only len(x) can be called")
        if func.id != "len":
            kind = "the builtin " if func.id in _BUILTIN_NAMES else ""
            self.fail(node, f"calling {kind}{func.id}() is not allowed; only len(x) can be called")
        if len(args) != 1 or node.keywords or isinstance(args[0], ast.Starred):
            self.fail(node, "len takes exactly one argument, as len(x)")
        return _Len(self.compile(args[0], depth))


@dataclass(frozen=True)
class Expression:
    """A parsed expression; build it with ``parse_expression``."""

    source: str
    _root: _Node = field(repr=False, compare=False)
    _names: frozenset[str] = field(repr=False, compare=False)

    def variable_names(self) -> set[str]:
        """Names the expression reads: variables, index variables, and those named by
        placeholders in string literals (``len`` is not included)."""
        return set(self._names)

    def evaluate(self, lookup: VariableLookup, scope: PlaceholderScope) -> object:
        """Compute the value with Python semantics.

        ``scope`` substitutes placeholders inside string literals. Raises
        ``PlaceholderError`` for an unknown variable or out-of-range index and
        ``ExpressionEvaluationError`` for any other failure.
        """
        try:
            return self._root.run(_Env(lookup, scope))
        except _Failure as exc:
            raise ExpressionEvaluationError(self.source, str(exc)) from None
        except (TypeError, ValueError, ArithmeticError, RecursionError, MemoryError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise ExpressionEvaluationError(self.source, reason) from exc


def parse_expression(text: str) -> Expression:
    """Parse and check ``text``; raises ``ExpressionSyntaxError`` with a 1-based column."""
    if len(text) > MAX_SOURCE_CHARS:
        # The error quotes its expression; quoting 100k characters helps no one.
        shown = text[:60] + "..."
        reason = f"expression is {len(text)} characters long; the limit is {MAX_SOURCE_CHARS}"
        raise ExpressionSyntaxError(shown, 1, reason)
    lead = len(text) - len(text.lstrip(" \t"))
    try:
        tree = ast.parse(text[lead:], mode="eval")
    except SyntaxError as exc:
        # SyntaxError columns count characters within a line; report one for the whole text.
        # Without a column (input ended too early) point just past the end.
        column = len(text.rstrip()) + 1
        if exc.offset and exc.offset > 0:
            lines = text[lead:].split("\n")[: max(exc.lineno or 1, 1) - 1]
            column = lead + sum(len(line) + 1 for line in lines) + exc.offset
        reason = "invalid syntax" + ("" if exc.msg == "invalid syntax" else f": {exc.msg}")
        raise ExpressionSyntaxError(text, column, reason) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        reason = f"expression is too complex to parse ({type(exc).__name__})"
        raise ExpressionSyntaxError(text, 1, reason) from None
    compiler = _Compiler(text, lead)
    root = compiler.compile(tree.body)
    return Expression(text, root, frozenset(compiler.names))
