"""The options of a ``<select>``, read from its HTML.

``select_option`` needs every option's value and label to match the requested text as
Optexity does. Reading them with ``Locator.evaluate`` runs in the page's main world, where
Playwright first injects its selector engine: about 20 ms on every new document (bench,
figure 1). ``Locator.inner_html`` runs in Playwright's utility world, which the step's other
calls have set up already, and costs one round trip (~2 ms). The HTML is the live DOM
serialised by the browser (every ``<option>`` closed, attributes current), and is read here
the way the browser defines ``option.value`` and ``option.label``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_ASCII_WHITESPACE = re.compile(r"[\t\n\f\r ]+")


def _strip_and_collapse(text: str) -> str:
    # HTML's "strip and collapse ASCII whitespace": a no-break space stays.
    return _ASCII_WHITESPACE.sub(" ", text).strip(" ")


class _OptionParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.options: list[tuple[dict[str, str | None], list[str]]] = []
        self._text: list[str] | None = None
        self._in_script = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "option":
            self._text = []
            self.options.append((dict(attrs), self._text))
        elif tag == "script":
            self._in_script += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self._text = None
        elif tag == "script":
            self._in_script = max(0, self._in_script - 1)

    def handle_data(self, data: str) -> None:
        if self._text is not None and not self._in_script:
            self._text.append(data)


def options_from_html(inner_html: str) -> list[dict[str, str]]:
    """``[{"value", "label"}]`` of the options in a ``<select>``'s inner HTML, in order.

    As the DOM defines them: ``value`` is the ``value`` attribute, else the option's text;
    ``label`` is the ``label`` attribute, else the text; the text has its ASCII whitespace
    stripped and collapsed and leaves out ``<script>`` content.
    """
    parser = _OptionParser()
    parser.feed(inner_html)
    parser.close()
    options = []
    for attrs, parts in parser.options:
        text = _strip_and_collapse("".join(parts))
        # A bare attribute (``<option value>``) is present and empty.
        value = (attrs["value"] or "") if "value" in attrs else text
        label = (attrs["label"] or "") if "label" in attrs else text
        options.append({"value": value, "label": label})
    return options
