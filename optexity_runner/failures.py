"""Playwright errors as sentences about the step that failed.

Playwright's messages carry a call log; the first line alone ("Locator.wait_for: Timeout
200ms exceeded.") does not tell a user what went wrong. These helpers mine the log for the
reason (no element, a hidden one, several matches, an overlay intercepting the click).
"""

from __future__ import annotations

import re

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

_STRICT = re.compile(r"strict mode violation: .*? resolved to (\d+) elements")
_CANDIDATE = re.compile(r"^\s+\d+\) (.*)$")
_HIDDEN = re.compile(
    r"locator resolved to (?:\d+ elements?\. Proceeding with the first one: )?hidden (.*)$"
)
#: Call-log lines that say why an action could not proceed, most telling first.
_BLOCKERS = (
    "intercepts pointer events",
    "not visible",
    "not enabled",
    "not editable",
    "not stable",
)


def describe_failure(
    exc: PlaywrightError, kind: str, target: str, state: str, seconds: float
) -> str:
    """A Playwright error as a sentence about the step (its call log mined for the reason).

    ``Locator.wait_for: Timeout 200ms exceeded.`` becomes
    ``no visible element matches get_by_role("button", name="Nope") within 0.2 s``.
    """
    text = str(exc)
    lines = text.splitlines()
    strict = _STRICT.search(text)
    if strict:
        candidates = [m.group(1) for line in lines if (m := _CANDIDATE.match(line))]
        listed = "; ".join(candidates[:5]) + ("; ..." if len(candidates) > 5 else "")
        return (
            f"{target} matches {strict.group(1)} elements but must match one (narrow it, e.g. "
            f"with .first, .nth(1), exact=True or has_text=): {listed}"
        )
    if isinstance(exc, PlaywrightTimeoutError):
        # An action that never resolved its locator timed out waiting for the element, as
        # ``wait_for`` would have (the actions that skip it: ``_acts_only_when_visible``).
        never_resolved = "locator resolved to" not in text
        if never_resolved or (lines and lines[0].startswith("Locator.wait_for")):
            hidden = next(
                (m.group(1) for line in lines if (m := _HIDDEN.search(line.strip()))), None
            )
            if hidden is not None and state == "visible":
                return f"{target} matches only a hidden element within {seconds:g} s: {hidden}"
            adjective = "visible " if state == "visible" else ""
            return f"no {adjective}element matches {target} within {seconds:g} s"
        reasons = [line.strip(" -") for line in lines if any(b in line for b in _BLOCKERS)]
        blocker = next((r for b in _BLOCKERS for r in reasons if b in r), None)
        where = f"{kind} on {target} did not complete within {seconds:g} s"
        return f"{where}: {blocker}" if blocker else where
    head = first_line(exc)
    # "Locator.fill: Error: Element is not an <input>..." -> "Element is not an <input>..."
    return re.sub(r"^[A-Za-z]+\.[A-Za-z_]+: (?:Error: )?", "", head)


def first_line(exc: BaseException) -> str:
    """The useful first line of a Playwright error (its call log follows on later lines)."""
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip() and "=====" not in line]
    return lines[0] if lines else type(exc).__name__
