"""Expressions the safe expression language must refuse at parse time.

Each entry is ``(text, column, reason)``: the column the error names and a fragment of its
reason. ``test_expressions.py`` parses them directly; ``test_flow_load.py`` puts them in a file.
"""

from __future__ import annotations

from optexity_runner.expressions import MAX_DEPTH, MAX_NODES

NESTED_LISTS = "[" * 100 + "]" * 100
WIDE_LIST = "[" + ", ".join(["1"] * (MAX_NODES + 50)) + "]"

HOSTILE: list[tuple[str, int, str]] = [
    ("__import__('os').system('touch /tmp/pwned')", 1, "__import__"),
    ("().__class__.__bases__[0].__subclasses__()", 3, "attribute"),
    ("x.__class__", 2, "attribute"),
    ("''.join(x)", 3, "attribute"),
    ("x[0].upper()", 5, "attribute"),
    ("[c for c in ()]", 1, "comprehension"),
    ("(c for c in x)", 1, "generator"),
    ("(lambda: 1)()", 2, "lambda"),
    ("9**9**9", 2, "**"),
    ("'a'*10**9", 7, "**"),
    ("open('/etc/passwd')", 1, "builtin open()"),
    ("getattr(x, 'y')", 1, "builtin getattr()"),
    ("type(x)", 1, "builtin type()"),
    ("foo(x)", 1, "only len(x)"),
    ("x[0]()", 5, "only len(x)"),
    ("len(x, y)", 1, "exactly one argument"),
    ("len(*x)", 1, "exactly one argument"),
    ("len(obj=x)", 1, "exactly one argument"),
    ("len", 1, "len can only be called"),
    ("f'{x}'", 1, "f-string"),
    ("(y := 1)", 2, ":="),
    ("x[0:2]", 3, "slice"),
    ("x[0][1]", 1, "only a variable can be indexed"),
    ("x[1.5]", 3, "index must be"),
    ("x['a']", 3, "index must be"),
    ("{1: 2}", 1, "dict"),
    ("{*x}", 1, "set display"),
    ("{x, y}", 1, "set display"),
    ("{1}", 1, "set display"),
    ("[*x]", 2, "unpacking"),
    ("a[0] if b[0] else 'n'", 1, "conditional"),
    ("b'x'", 1, "bytes"),
    ("...", 1, "ellipsis"),
    ("1j", 1, "complex"),
    ("~count[0]", 1, "~"),
    ("a[0] @ b[0]", 6, "@"),
    ("a[0] | b[0]", 6, "|"),
    ("a[0] << 99999", 6, "<<"),
    ("__builtins__", 1, "'__'"),
    ("x[__name__]", 3, "'__'"),
    ("await x", 1, "Await"),
    ("(yield)", 2, "Yield"),
    ("x[0] ==", 8, "invalid syntax"),
    ("x[0] == 'a", 9, "unterminated string"),
    ("", 1, "invalid syntax"),
    ("x\x00", 3, "null bytes"),
    ("é == 'a'.join", 9, "attribute"),
    ("(\n  x\n  .y)", 9, "attribute"),
    ("(" * 1000 + "x" + ")" * 1000, 1, "limit"),
    ("not " * 5000 + "x", 1, "limit"),
    ("x" * 100_000, 1, "limit"),
    ("(" * 250 + "x" + ")" * 250, 201, "too many nested parentheses"),
    ("not " * 400 + "x", 4 * (MAX_DEPTH + 1) + 1, "nested"),
    (NESTED_LISTS, MAX_DEPTH + 2, "nested"),
    (WIDE_LIST, 1 + 3 * (MAX_NODES - 1) + 1, "more than"),
]
