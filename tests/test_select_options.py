"""Option values and labels read from HTML agree with what the browser itself reports."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from optexity_runner.actions.select_options import options_from_html

TRICKY = """
<select id="s">
  <option value="auto">Auto / Vehicle</option>
  <option>  No   value\tattribute </option>
  <option value="">Empty value</option>
  <option value="x" label="Label attribute">Text ignored</option>
  <option value="amp">Fish &amp; Chips&nbsp;Ltd</option>
  <optgroup label="Group"><option value="g1">In a group</option></optgroup>
  <option value="s">Before<script>ignored()</script> after</option>
  <option value="q" label="">Empty label uses text</option>
</select>
"""


@pytest.mark.parametrize("html", [TRICKY, "<select id='s'></select>"])
async def test_options_match_the_browsers_own_values_and_labels(page: Page, html: str) -> None:
    await page.set_content(html)
    select = page.locator("#s")
    expected = await select.evaluate(
        "el => Array.from(el.options).map(o => ({value: o.value, label: o.label}))"
    )
    assert options_from_html(await select.inner_html()) == expected
