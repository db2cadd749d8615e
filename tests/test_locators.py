"""Locator expressions: parsing, a hostile corpus, and binding in real Chromium."""

from __future__ import annotations

import dataclasses
import html
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from optexity_runner.errors import LocatorSyntaxError, PlaceholderError
from optexity_runner.locators import (
    MAX_LENGTH,
    BarePlaceholder,
    LocatorChain,
    Step,
    parse_locator,
)
from optexity_runner.placeholders import Placeholder, parse_placeholder

CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Every payload that could run code writes this file; it must never appear.
SENTINEL = Path(tempfile.gettempdir()) / f"optexity-locators-pwned-{os.getpid()}"


class FakeScope:
    """A run's variables (lists of values), current loop indexes and stored locators."""

    def __init__(
        self,
        values: dict[str, list[str]] | None = None,
        indexes: dict[str, int] | None = None,
        locators: dict[str, list[Locator]] | None = None,
    ) -> None:
        self.values = values or {}
        self.indexes = indexes or {}
        self.locators = locators or {}

    def _index(self, placeholder: Placeholder) -> int:
        index = placeholder.index
        return self.indexes[index] if isinstance(index, str) else int(index or 0)

    def resolve(self, placeholder: Placeholder) -> str | None:
        if placeholder.kind == "name":
            index = self.indexes.get(placeholder.name)
            return None if index is None else str(index)
        if placeholder.kind == "index_of":
            return str(self.indexes[placeholder.name])
        if placeholder.name not in self.values:
            raise PlaceholderError(f"unknown variable {placeholder.name!r}")
        return self.values[placeholder.name][self._index(placeholder)]

    def resolve_locator(self, placeholder: Placeholder) -> Locator:
        return self.locators[placeholder.name][self._index(placeholder)]


def ph(text: str) -> Placeholder:
    placeholder = parse_placeholder(text)
    assert placeholder is not None
    return placeholder


def chain(*steps: Step, head: str | None = None) -> LocatorChain:
    return LocatorChain(None if head is None else ph(head), steps)


# --- parsing -------------------------------------------------------------------------------

PARSES = [
    (
        'get_by_role("button", name="Submit")',
        chain(Step("get_by_role", ("button",), (("name", "Submit"),))),
    ),
    (
        'locator("form#login").get_by_label("Email")',
        chain(Step("locator", ("form#login",)), Step("get_by_label", ("Email",))),
    ),
    ('get_by_text("Next").first', chain(Step("get_by_text", ("Next",)), Step("first"))),
    (
        'locator("#facList a", has_text="{facility[0]}").nth(2)',
        chain(
            Step("locator", ("#facList a",), (("has_text", "{facility[0]}"),)), Step("nth", (2,))
        ),
    ),
    (
        'locator("iframe#login").content_frame.get_by_role("button")',
        chain(
            Step("locator", ("iframe#login",)),
            Step("content_frame"),
            Step("get_by_role", ("button",)),
        ),
    ),
    (
        'frame_locator("#f").get_by_text("x")',
        chain(Step("frame_locator", ("#f",)), Step("get_by_text", ("x",))),
    ),
    ('{locator[row]}.locator("td")', chain(Step("locator", ("td",)), head="{locator[row]}")),
    (
        'locator("li").nth({row})',
        chain(Step("locator", ("li",)), Step("nth", (BarePlaceholder(ph("{row}"), "int"),))),
    ),
    (
        'locator("li").nth({index_of(rows)})',
        chain(
            Step("locator", ("li",)),
            Step("nth", (BarePlaceholder(ph("{index_of(rows)}"), "int"),)),
        ),
    ),
    (
        'locator("tr", has=get_by_text("x"))',
        chain(Step("locator", ("tr",), (("has", chain(Step("get_by_text", ("x",)))),))),
    ),
    (
        'get_by_role("x").and_(get_by_title("y"))',
        chain(Step("get_by_role", ("x",)), Step("and_", (chain(Step("get_by_title", ("y",))),))),
    ),
    (
        'get_by_text("a").or_(get_by_alt_text("b", exact=True))',
        chain(
            Step("get_by_text", ("a",)),
            Step("or_", (chain(Step("get_by_alt_text", ("b",), (("exact", True),))),)),
        ),
    ),
    (
        'get_by_role("heading", level=2, exact=False, checked=True, disabled=False, '
        "expanded=True, include_hidden=True, pressed=False, selected=True)",
        chain(
            Step(
                "get_by_role",
                ("heading",),
                (
                    ("level", 2),
                    ("exact", False),
                    ("checked", True),
                    ("disabled", False),
                    ("expanded", True),
                    ("include_hidden", True),
                    ("pressed", False),
                    ("selected", True),
                ),
            )
        ),
    ),
    (
        'locator("li").filter(has_text="a", has_not_text="b", has=locator("i"), '
        'has_not=locator("s"), visible=True)',
        chain(
            Step("locator", ("li",)),
            Step(
                "filter",
                (),
                (
                    ("has_text", "a"),
                    ("has_not_text", "b"),
                    ("has", chain(Step("locator", ("i",)))),
                    ("has_not", chain(Step("locator", ("s",)))),
                    ("visible", True),
                ),
            ),
        ),
    ),
    (
        'get_by_placeholder("Search").last',
        chain(Step("get_by_placeholder", ("Search",)), Step("last")),
    ),
    (
        'get_by_test_id("save").nth(-1)',
        chain(Step("get_by_test_id", ("save",)), Step("nth", (-1,))),
    ),
    (
        'frame_locator("#a").frame_locator("#b").nth(0).first.last.get_by_title("t")',
        chain(
            Step("frame_locator", ("#a",)),
            Step("frame_locator", ("#b",)),
            Step("nth", (0,)),
            Step("first"),
            Step("last"),
            Step("get_by_title", ("t",)),
        ),
    ),
    ('frame_locator("#f")', chain(Step("frame_locator", ("#f",)))),
    (
        "get_by_label({field})",
        chain(Step("get_by_label", (BarePlaceholder(ph("{field}"), "str"),))),
    ),
    (
        'locator("a", has={rows[0]})',
        chain(Step("locator", ("a",), (("has", chain(head="{rows[0]}")),))),
    ),
    # Written the ways a JSON file may carry them: single quotes, implicit concatenation,
    # escapes, a backslash that is not an escape, leading blanks, and line breaks.
    ("get_by_text('it\\'s')", chain(Step("get_by_text", ("it's",)))),
    ('get_by_text("a" "b")', chain(Step("get_by_text", ("ab",)))),
    ('locator("text=/\\d+/")', chain(Step("locator", ("text=/\\d+/",)))),
    ('  get_by_text("x")', chain(Step("get_by_text", ("x",)))),
    (
        'locator(\n  "ul",\n).get_by_text("x")',
        chain(Step("locator", ("ul",)), Step("get_by_text", ("x",))),
    ),
]


@pytest.mark.parametrize(("expression", "expected"), PARSES, ids=[p[0][:50] for p in PARSES])
def test_allowed_forms_parse_to_the_expected_chain(expression: str, expected: LocatorChain) -> None:
    parsed = parse_locator(expression)
    assert parsed.source == expression
    assert parsed.chain == expected


def test_placeholders_lists_every_use_in_source_order() -> None:
    parsed = parse_locator(
        '{rows[i]}.locator("td", has_text="{a[0]} and {b}", has=get_by_text("{c[j]}"))'
        ".nth({index_of(rows)})"
    )
    assert [p.text for p in parsed.placeholders()] == [
        "{rows[i]}",
        "{a[0]}",
        "{b}",
        "{c[j]}",
        "{index_of(rows)}",
    ]


def test_parsed_expression_is_immutable_and_hashable() -> None:
    parsed = parse_locator('locator("a", has=get_by_text("x")).nth(1)')
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.source = "evil"  # type: ignore[misc]
    assert hash(parsed) == hash(parse_locator('locator("a", has=get_by_text("x")).nth(1)'))


# --- the hostile corpus: every entry fails at parse time, before any browser ---------------

HOSTILE = [
    (f'__import__("os").system("touch {SENTINEL}")', 1, "dunder names are never allowed"),
    (f'get_by_text(open("{SENTINEL}", "w").write("x"))', 13, "got a call"),
    ('get_by_text(open("/etc/passwd").read())', 13, "got a call"),
    ("get_by_role.__globals__", 13, "dunder"),
    ('get_by_role("x").__class__.__init__.__globals__', 18, "dunder"),
    ('locator("a").evaluate("alert(1)")', 14, "`evaluate` is not an allowed locator method"),
    ("page.context.browser.close()", 1, "drop the leading `page.`"),
    ('page.get_by_role("button")', 1, "drop the leading `page.`"),
    ('locator("a").page.evaluate("1")', 14, "`page` is not an allowed locator method"),
    ('eval("1")', 1, "`eval` is not an allowed"),
    (f"exec(\"open('{SENTINEL}', 'w')\")", 1, "`exec` is not an allowed"),
    ("(lambda: 1)()", 2, "got a lambda"),
    ("get_by_role(*x)", 13, "starred arguments"),
    ("get_by_role(**x)", 13, "keyword unpacking"),
    ('locator("a", **{"has_text": "x"})', 14, "keyword unpacking"),
    ('locator("a")[0]', 1, "got a subscript"),
    ('locator(f"{x}")', 9, "got an f-string"),
    ('locator("a" + "b")', 9, "got an operator"),
    ('get_by_text("a" if x else "b")', 13, "got a conditional expression"),
    ('get_by_text(("a", "b"))', 13, "got a tuple"),
    ("get_by_text([c for c in 'ab'])", 13, "got a comprehension"),
    ("get_by_text((x := 'a'))", 14, "got an assignment"),
    ('get_by_text(b"x")', 13, "got a bytes value"),
    ("get_by_text(x)", 13, "got the bare name `x`"),
    ("get_by_text(globals())", 13, "got a call"),
    ('await get_by_text("x")', 1, "got an await"),
    ('locator("a").nth(1e9)', 18, "must be a whole number, got a float `1e9`"),
    ('locator("a").nth(True)', 18, "must be a whole number, got a boolean"),
    ('locator("a").nth("1")', 18, "must be a whole number, got a string"),
    ('locator("a").nth(99999999999)', 18, "out of range"),
    ('get_by_text("x", exact="yes")', 24, "must be True or False"),
    ('get_by_text("x", exact={flag})', 24, "must be True or False"),
    ('get_by_text("x", name="y")', 18, "does not accept `name=`; allowed: exact"),
    ('get_by_test_id("x", exact=True)', 21, "allowed: none"),
    ('get_by_role("a", name="b", name="c")', 28, "given twice"),
    ('locator("a", "b")', 14, "takes 1 positional argument(s) (selector), got 2"),
    ('locator("a").nth()', 14, "takes 1 positional argument(s) (index), got 0"),
    ('get_by_text("x", True)', 18, "positional"),
    ('{__import__("os")}.locator("x")', 1, "is not a placeholder"),
    ("{x.__class__}", 1, "is not a placeholder"),
    ("{x}.__class__", 1, "can start only with a stored locator"),
    ("{rows[0]}.__class__", 11, "dunder"),
    ('locator("a").nth({rows[0].__len__()})', 18, "is not a placeholder"),
    ('{x}("a")', 1, "cannot be called"),
    ('{index_of(x)}.locator("a")', 1, "can start only with a stored locator"),
    ('{rows[0]}.evaluate("1")', 11, "`evaluate` is not an allowed"),
    ("nth(1)", 1, "needs a locator before it"),
    ("first", 1, "needs a locator before it"),
    ('locator("a").first()', 14, "is a property"),
    ('locator("a").nth', 14, "must be called"),
    ('frame_locator("f").filter(has_text="x")', 20, "cannot follow a frame locator"),
    ('frame_locator("f").content_frame', 20, "cannot follow a frame locator"),
    ('locator("a", has=frame_locator("b"))', 18, "must be a locator, not a frame locator"),
    ('locator("a", has="b")', 18, "expected a locator method"),
    ('get_by_text("a")(1)', 1, "got a call"),
    ('get_by_text("x"); import os', 17, "not a valid expression"),
    ('get_by_text("x")\nimport os', 18, "not a valid expression"),
    ('locator("a"', 8, "not a valid expression"),
    ("", 1, "empty"),
    ("   ", 1, "empty"),
    ('get_by_text("é").évaluer', 18, "`évaluer` is not an allowed"),
    ('locator("a\x00")', 1, "not a valid expression"),
    ("get_by_text(" + "-" * 3900 + "1)", 1, "nested too deeply"),
    ("(" * 300 + ")" * 300, 201, "too many nested parentheses"),
    ('locator("a", has=' * 12 + 'get_by_text("x")' + ")" * 12, 154, "nested at most 8 deep"),
    ("get_by_text('" + "x" * 10_000 + "')", MAX_LENGTH + 1, "at most 4000 characters"),
]


@pytest.fixture(autouse=True)
def no_sentinel() -> Iterator[None]:
    """Fails any test after which a payload has managed to create the sentinel file."""
    SENTINEL.unlink(missing_ok=True)
    yield None
    assert not SENTINEL.exists(), "a locator payload was executed"


@pytest.mark.parametrize(
    ("expression", "column", "reason"), HOSTILE, ids=[h[0][:40] for h in HOSTILE]
)
def test_hostile_expression_is_refused_with_a_column(
    expression: str, column: int, reason: str
) -> None:
    with pytest.raises(LocatorSyntaxError) as caught:
        parse_locator(expression)
    assert caught.value.column == column
    assert reason in caught.value.reason
    assert f"at column {column}" in str(caught.value)


def test_sentinel_check_would_catch_an_evaluated_payload() -> None:
    # The control for the corpus: evaluating the first payload does create the sentinel,
    # so its absence after parse_locator means nothing was executed.
    eval(HOSTILE[0][0])  # deliberate: shows the sentinel check can fail
    assert SENTINEL.exists()
    SENTINEL.unlink()


def test_long_chains_within_the_limit_parse_without_recursion() -> None:
    expression = 'locator("a")' + ".first" * 600
    assert len(parse_locator(expression).chain.steps) == 601


# --- binding in real Chromium ---------------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest_asyncio.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    yield await context.new_page()
    await context.close()


async def test_get_by_role_with_name(page: Page) -> None:
    await page.set_content("<button>Cancel</button><button>Submit</button>")
    located = parse_locator('get_by_role("button", name="Submit")').bind(page, FakeScope())
    await expect(located).to_have_count(1)
    await expect(located).to_have_text("Submit")


async def test_chain_scopes_each_step_to_the_previous(page: Page) -> None:
    await page.set_content(
        '<form id="signup"><label>Email<input id="e1"></label></form>'
        '<form id="login"><label>Email<input id="e2"></label></form>'
    )
    located = parse_locator('locator("form#login").get_by_label("Email")').bind(page, FakeScope())
    await expect(located).to_have_id("e2")


LIST = "<ul><li>a</li><li>b</li><li>c</li></ul>"


@pytest.mark.parametrize(
    ("expression", "text"),
    [
        ('locator("li").first', "a"),
        ('locator("li").last', "c"),
        ('locator("li").nth(-1)', "c"),
        ('locator("li").nth({row})', "c"),
        ('locator("li").nth({index_of(items)})', "b"),
        ('locator("li").filter(has_text="{items[1]}")', "b"),
        ("get_by_text({items[0]})", "a"),
    ],
)
async def test_index_and_text_placeholders_pick_the_right_item(
    page: Page, expression: str, text: str
) -> None:
    await page.set_content(LIST)
    scope = FakeScope(values={"items": ["a", "b"]}, indexes={"row": 2, "items": 1})
    await expect(parse_locator(expression).bind(page, scope)).to_have_text(text)


@pytest.mark.parametrize("value", ["b", "1); evaluate(", "1.5", ""])
async def test_bare_index_placeholder_must_be_a_whole_number(page: Page, value: str) -> None:
    expression = parse_locator('locator("li").nth({n[0]})')
    with pytest.raises(PlaceholderError, match="must be a whole number"):
        expression.bind(page, FakeScope(values={"n": [value]}))


async def test_has_filter_and_or(page: Page) -> None:
    await page.set_content(
        "<table><tr id='r1'><td>x</td></tr><tr id='r2'><td>y</td></tr></table>"
        "<button title='Save'>A</button><button title='Skip'>B</button>"
    )
    scope = FakeScope()
    has = parse_locator('locator("tr", has=get_by_text("y"))').bind(page, scope)
    await expect(has).to_have_id("r2")
    has_not = parse_locator('locator("tr", has_not=get_by_text("y"))').bind(page, scope)
    await expect(has_not).to_have_id("r1")
    filtered = parse_locator('locator("tr").filter(has_not_text="x")').bind(page, scope)
    await expect(filtered).to_have_id("r2")
    both = parse_locator('get_by_role("button").and_(get_by_title("Save"))').bind(page, scope)
    await expect(both).to_have_text("A")
    either = parse_locator('get_by_text("A", exact=True).or_(get_by_text("B"))').bind(page, scope)
    await expect(either).to_have_count(2)


async def test_other_get_by_methods(page: Page) -> None:
    await page.set_content(
        "<input placeholder='Search'><img alt='Logo' src='data:,'>"
        "<span data-testid='total'>9</span><abbr title='Hint'>?</abbr>"
    )
    scope = FakeScope()
    for expression, attribute, value in [
        ('get_by_placeholder("Search")', "placeholder", "Search"),
        ('get_by_alt_text("Logo")', "alt", "Logo"),
        ('get_by_test_id("total")', "data-testid", "total"),
        ('get_by_title("Hint", exact=True)', "title", "Hint"),
    ]:
        await expect(parse_locator(expression).bind(page, scope)).to_have_attribute(
            attribute, value
        )


FRAMED = (
    "<button>outside</button>"
    "<iframe id='login' srcdoc=\"<ul><li>x</li><li>y</li></ul><button>Sign in</button>\"></iframe>"
)


@pytest.mark.parametrize(
    "expression",
    [
        'locator("iframe#login").content_frame.get_by_role("button")',
        'frame_locator("#login").get_by_role("button")',
        'frame_locator("#login").first.locator("button")',
    ],
)
async def test_chains_cross_into_iframes(page: Page, expression: str) -> None:
    await page.set_content(FRAMED)
    await expect(parse_locator(expression).bind(page, FakeScope())).to_have_text("Sign in")


async def test_nested_locator_inside_a_frame(page: Page) -> None:
    await page.set_content(FRAMED)
    expression = parse_locator('frame_locator("#login").locator("li", has=get_by_text("y"))')
    await expect(expression.bind(page, FakeScope())).to_have_text("y")


@pytest.mark.parametrize(
    "expression", ['frame_locator("#login")', 'locator("#login").content_frame']
)
async def test_chain_ending_on_a_frame_yields_the_iframe_element(
    page: Page, expression: str
) -> None:
    await page.set_content(FRAMED)
    located = parse_locator(expression).bind(page, FakeScope())
    assert await located.evaluate("e => e.tagName") == "IFRAME"


async def test_frame_root(page: Page) -> None:
    await page.set_content(FRAMED)
    await expect(page.locator("iframe")).to_be_attached()
    frame = page.frames[1]
    await expect(parse_locator("get_by_text('y')").bind(frame, FakeScope())).to_have_count(1)


async def test_chain_head_from_a_stored_locator(page: Page) -> None:
    await page.set_content(
        "<table><tr><td>1</td><td>one</td></tr><tr><td>2</td><td>two</td></tr></table>"
    )
    scope = FakeScope(indexes={"i": 1}, locators={"rows": list(await page.locator("tr").all())})
    located = parse_locator('{rows[i]}.locator("td").nth(1)').bind(page, scope)
    await expect(located).to_have_text("two")
    nested = parse_locator('get_by_role("row").and_({rows[0]})').bind(page, scope)
    await expect(nested).to_contain_text("one")


# --- hostile parameter values: they change what matches, never the expression -------------

HOSTILE_TEXTS = [
    '") or __import__("os',
    '"); evaluate("x',
    "{pw[0]}",
    "a\"b'c\\d\\\\e",
    "}{{}}{",
    "x >> css=#secret",
    "internal:text=secret",
]


@pytest.mark.parametrize(
    ("expression", "target"),
    [
        ('get_by_text("{q[0]}", exact=True)', "target"),
        ('locator("p", has_text="{q[0]}")', "target"),
        ("get_by_text({q[0]}, exact=True)", "target"),
        ('get_by_label("{q[0]}", exact=True)', "target-box"),
        ('get_by_role("checkbox", name="{q[0]}", exact=True)', "target-box"),
    ],
)
@pytest.mark.parametrize("value", HOSTILE_TEXTS)
async def test_hostile_parameter_value_only_matches_its_own_text(
    page: Page, expression: str, target: str, value: str
) -> None:
    text = html.escape(value, quote=True)
    await page.set_content(
        f"<p id='target'>{text}</p><p id='secret'>secret</p><p>secret-password</p>"
        f'<input type="checkbox" id="target-box" aria-label="{text}">'
        '<input type="checkbox" id="secret-box" aria-label="secret">'
    )
    scope = FakeScope(values={"q": [value], "pw": ["secret-password"]})
    located = parse_locator(expression).bind(page, scope)
    await expect(located).to_have_count(1)
    await expect(located).to_have_id(target)


async def test_a_value_that_looks_like_a_placeholder_is_not_expanded_again(page: Page) -> None:
    await page.set_content("<p>{pw[0]}</p><p>secret-password</p>")
    scope = FakeScope(values={"q": ["{pw[0]}"], "pw": ["secret-password"]})
    # Control: the scope does expand {pw[0]} when it is written in the command itself.
    direct = parse_locator('get_by_text("{pw[0]}")').bind(page, scope)
    await expect(direct).to_have_text("secret-password")
    via_value = parse_locator('get_by_text("{q[0]}")').bind(page, scope)
    await expect(via_value).to_have_text("{pw[0]}")


async def test_selector_engine_syntax_in_a_label_value_matches_nothing_else(page: Page) -> None:
    await page.set_content(
        "<label>Email<input id='email'></label><input id='secret' aria-label='secret'>"
    )
    scope = FakeScope(values={"q": ['Email" >> css=#secret >> "', "Email >> css=#secret"]})
    for index in (0, 1):
        located = parse_locator(f'get_by_label("{{q[{index}]}}")').bind(page, scope)
        await expect(located).to_have_count(0)
