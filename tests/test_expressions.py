"""The safe expression language of conditions and ``set_variable`` (pure Python, no browser)."""

from __future__ import annotations

import builtins
import re
import time
from pathlib import Path
from typing import Any

import pytest
from support.hostile import HOSTILE

from optexity_runner import expressions
from optexity_runner.errors import ExpressionSyntaxError, PlaceholderError, RunError
from optexity_runner.expressions import (
    MAX_RESULT_LENGTH,
    MAX_SOURCE_CHARS,
    ExpressionEvaluationError,
    parse_expression,
)
from optexity_runner.placeholders import Placeholder

VARIABLES: dict[str, list[Any]] = {
    "is_login_page": [True],
    "has_2fa": ["true"],
    "x": ["abc", "skip"],
    "y": [None],
    "rows": ["r1", "r2", "r3", "r4"],
    "status": ["closed", "open"],
    "done": [False],
    "count": [4],
    "price": [2.5],
    "a": [1],
    "b": [2],
    "name": ["Ada"],
    "blank": [""],
    "empty": [],
    "pw": ["{secret[0]}"],
    "secret": ["hunter2"],
    "code": ["__import__('os').system('touch /tmp/pwned')"],
}
INDEXES: dict[str, int] = {"index": 1, "row": 3}


class Variables:
    """A lookup and a placeholder scope over the same variables, as the interpreter has."""

    def __init__(self, **overrides: list[Any]) -> None:
        self.values = {**VARIABLES, **overrides}

    def __call__(self, name: str) -> object:
        if name in INDEXES:
            return INDEXES[name]
        if name in self.values:
            return self.values[name]
        raise PlaceholderError(f"unknown variable {name!r}")

    def resolve(self, placeholder: Placeholder) -> str | None:
        if placeholder.kind == "name":
            current = INDEXES.get(placeholder.name)
            return None if current is None else str(current)
        if placeholder.kind == "index_of":
            return str(INDEXES["index"])
        values = self(placeholder.name)
        assert isinstance(values, list)
        index = placeholder.index
        position = INDEXES[index] if isinstance(index, str) else index
        assert isinstance(position, int)
        if position >= len(values):
            raise PlaceholderError(f"{placeholder.name}[{index}] is out of range")
        return str(values[position])


def evaluate(text: str, **overrides: list[Any]) -> object:
    variables = Variables(**overrides)
    return parse_expression(text).evaluate(variables, variables)


SUPPORTED: list[tuple[str, object]] = [
    # Conditions as Optexity users write them.
    ("is_login_page[0]", True),
    ("has_2fa[0] == 'true'", True),
    ("has_2fa[0] == 'false'", False),
    ("x[0] is not None and x[0] != 'skip'", True),
    ("y[0] is not None and y[0] != 'skip'", False),
    ("y[0] is None", True),
    ("len(rows) > 3", True),
    ("status[index] in ['open', 'pending']", True),
    ("status[0] not in ('open', 'pending')", True),
    ("not done[0]", True),
    ("not not done[0]", False),
    # Placeholder forms: a bare {ref} is the reference, one inside a string is substituted.
    ("{x[0]} == 'abc'", True),
    ("{x[index]} == 'skip'", True),
    ("{is_login_page[0]}", True),
    ("x[{index}]", "skip"),
    ("'{x[0]}' == 'abc'", True),
    ("'row {index} of {x[index]}'", "row 1 of skip"),
    ("'{curly}'", "{curly}"),
    # Names, subscripts, literals, displays.
    ("x", ["abc", "skip"]),
    ("x[-1]", "skip"),
    ("rows[row]", "r4"),
    ("index", 1),
    ("None", None),
    ("True", True),
    ("1.5", 1.5),
    ("-1", -1),
    ("'it''s'", "its"),
    ("[1, 'a', None, x[0]]", [1, "a", None, "abc"]),
    ("(1, 2)", (1, 2)),
    ("()", ()),
    ("[]", []),
    ("len(x[0])", 3),
    ("len(empty) == 0", True),
    ("'b' in x[0]", True),
    ("'abc' in x", True),
    # set_variable arithmetic, Python precedence.
    ("count[0] + 1", 5),
    ("count[0] - 1", 3),
    ("count[0] * 2", 8),
    ("count[0] / 8", 0.5),
    ("count[0] // 3", 1),
    ("count[0] % 3", 1),
    ("-count[0]", -4),
    ("+count[0]", 4),
    ("count[0] + 1 * 2", 6),
    ("(count[0] + 1) * 2", 10),
    ("price[0] * 2", 5.0),
    ("index + 1", 2),
    ("name[0] + '!'", "Ada!"),
    ("name[0] * 3", "AdaAdaAda"),
    ("2 * name[0]", "AdaAda"),
    ("['a'] + ['b']", ["a", "b"]),
    # Chained comparisons.
    ("a[0] < b[0] <= 3", True),
    ("a[0] < b[0] < 2", False),
    ("3 > b[0] > a[0] > 0", True),
    # and/or return an operand, as in Python.
    ("x[0] or 'default'", "abc"),
    ("blank[0] or 'default'", "default"),
    ("x[0] and 'yes'", "yes"),
    ("blank[0] and 'yes'", ""),
    ("done[0] or blank[0] or 0", 0),
    # Whitespace that Python's eval accepts.
    ("  is_login_page[0]", True),
    ("(\n    has_2fa[0] == 'true'\n    and not done[0]\n)", True),
]


@pytest.mark.parametrize(("text", "expected"), SUPPORTED)
def test_supported_form_evaluates_like_python(text: str, expected: object) -> None:
    result = evaluate(text)
    assert result == expected
    assert type(result) is type(expected)


def test_short_circuit_skips_the_right_operand() -> None:
    assert evaluate("done[0] and x[9]") is False
    assert evaluate("is_login_page[0] or missing[0]") is True
    assert evaluate("a[0] > 5 > x[9]") is False


def test_substitution_in_a_string_is_one_pass() -> None:
    # pw's value looks like a placeholder; it is inserted literally, never expanded again.
    assert evaluate("'{pw[0]}'") == "{secret[0]}"
    assert evaluate("pw[0] == '{pw[0]}'") is True


def test_a_value_holding_code_is_only_text() -> None:
    assert evaluate("code[0] == 'x'") is False
    assert evaluate("'{code[0]}'") == VARIABLES["code"][0]


def test_variable_names_lists_every_name_read() -> None:
    expression = parse_expression("x[index] == '{name[0]} {curly}' and len(rows) > {b[0]}")
    assert expression.variable_names() == {"x", "index", "name", "rows", "b"}
    assert parse_expression("'{x[row]}' or '{index_of(status)}'").variable_names() == {
        "x",
        "row",
        "status",
    }


def test_expression_keeps_its_source_and_is_frozen() -> None:
    expression = parse_expression("x[0] == 'a'")
    assert expression.source == "x[0] == 'a'"
    assert expression == parse_expression("x[0] == 'a'")
    with pytest.raises(AttributeError):
        expression.source = "y"  # type: ignore[misc]


def test_evaluate_never_uses_eval_exec_compile_or_ast(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = [(parse_expression(text), expected) for text, expected in SUPPORTED]

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("evaluation called eval, exec or compile")

    results = []
    with monkeypatch.context() as patch:
        for name in ("eval", "exec", "compile"):
            patch.setattr(builtins, name, forbidden)
        patch.setattr(expressions, "ast", None)
        variables = Variables()
        results = [expression.evaluate(variables, variables) for expression, _ in parsed]
    assert results == [expected for _, expected in parsed]


# --- Evaluation errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("x[5]", "x[5]"),
        ("x[-3]", "x[-3]"),
        ("rows[row] and x[row]", "x[row]"),
        ("missing", "'missing'"),
    ],
)
def test_unknown_variable_or_index_is_a_placeholder_error(text: str, fragment: str) -> None:
    with pytest.raises(PlaceholderError, match=re.escape(fragment)):
        evaluate(text)


def test_unknown_placeholder_in_a_string_is_a_placeholder_error() -> None:
    with pytest.raises(PlaceholderError, match="missing"):
        evaluate("'{missing[0]}' == 'a'")


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("count[0] / 0", "ZeroDivisionError"),
        ("count[0] // 0", "ZeroDivisionError"),
        ("x[0] < 1", "TypeError"),
        ("x[0] - 1", "unsupported operand types for -: str and int"),
        ("name[0] + 1", "unsupported operand types for +: str and int"),
        ("'%s' % x[0]", "unsupported operand types for %: str and str"),
        ("-x[0]", "unary - on a str"),
        ("len(count[0])", "len() of a int"),
        ("index[0]", "'index' is a int, not a list variable"),
        ("x[done]", "index variable 'done' is a list, not an int"),
        ("1 in count[0]", "TypeError"),
    ],
)
def test_failed_evaluation_quotes_expression_and_cause(text: str, cause: str) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        evaluate(text)
    assert isinstance(caught.value, RunError)
    assert caught.value.expression == text
    assert repr(text) in str(caught.value)
    assert cause in str(caught.value)


def test_evaluation_error_never_shows_a_value() -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        evaluate("secret[0] < 1")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "overrides"),
    [
        ("s[0] * n[0]", {"s": ["ab"], "n": [10**12]}),
        ("n[0] * s[0]", {"s": ["ab"], "n": [10**18]}),
        ("[1, 2] * n[0]", {"n": [10**9]}),
        ("s[0] + s[0]", {"s": ["x" * (MAX_RESULT_LENGTH // 2 + 1)]}),
        ("n[0] * n[0] * n[0]", {"n": [7**4000]}),
    ],
)
def test_oversized_result_is_refused_quickly(text: str, overrides: dict[str, list[Any]]) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionEvaluationError, match=r"limit|exceed"):
        evaluate(text, **overrides)
    assert time.perf_counter() - started < 1.0


def test_result_at_the_size_limit_is_allowed() -> None:
    assert evaluate("s[0] * n[0]", s=["ab"], n=[MAX_RESULT_LENGTH // 2]) == "ab" * (
        MAX_RESULT_LENGTH // 2
    )


# --- Parse-time rejection (the corpus is shared: support/hostile.py) -------------------


@pytest.mark.parametrize(("text", "column", "reason"), HOSTILE, ids=lambda v: repr(v)[:40])
def test_hostile_expression_is_rejected_at_parse_time(text: str, column: int, reason: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(text)
    assert caught.value.column == column
    assert reason in caught.value.reason
    assert f"at column {column}" in str(caught.value)


def test_over_long_input_is_quoted_briefly() -> None:
    text = "x" * (MAX_SOURCE_CHARS + 1)
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(text)
    assert str(MAX_SOURCE_CHARS + 1) in caught.value.reason
    assert len(str(caught.value)) < 300
    parse_expression("x" * MAX_SOURCE_CHARS)


def test_nothing_hostile_ever_runs(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    payloads = [
        f"__import__('os').system('touch {sentinel}')",
        f"open('{sentinel}', 'w').write('x')",
        f"__import__('pathlib').Path('{sentinel}').touch()",
        f"[__import__('os').system('touch {sentinel}') for _ in [1]]",
        f"(lambda: __import__('os').system('touch {sentinel}'))()",
        f"exec(\"open('{sentinel}', 'w')\")",
        f"eval(\"open('{sentinel}', 'w')\")",
        f"{{__import__('os').system('touch {sentinel}')}}",
        f"x[0] or open('{sentinel}', 'w')",
    ]
    for payload in payloads:
        with pytest.raises(ExpressionSyntaxError):
            parse_expression(payload)
    # A value or a string literal holding code is compared and substituted as plain text.
    command = f"__import__('os').system('touch {sentinel}')"
    assert evaluate("'{c[0]}' == c[0]", c=[command]) is True
    assert evaluate(repr(command)) == command
    assert not sentinel.exists()
