"""Which URLs a run may open: http and https pages (and ``about:blank``), nothing else.

A ``javascript:`` URL would run script in the current page's origin and a ``file:`` URL would
read the machine's files; both can arrive through a parameter or a value read off a page, so
every URL is checked after substitution, and literal ones already when the file is loaded.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from optexity_runner.errors import RunError

ALLOWED_SCHEMES = frozenset({"http", "https"})


class UnsafeUrlError(RunError):
    """Raised by ``checked_url`` for a URL whose scheme is not http or https."""


def scheme_problem(url: str) -> str | None:
    """Why ``url`` may not be opened, or ``None`` when it may (relative URLs may)."""
    if url.strip() == "about:blank":
        return None
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme and scheme not in ALLOWED_SCHEMES:
        return f"{scheme}: URLs are not opened (only http and https): {url[:80]!r}"
    return None


def checked_url(base: str, target: str) -> str:
    """``target`` resolved against ``base`` (the current page); ``UnsafeUrlError`` unless
    the result is http(s) or ``about:blank``."""
    url = target.strip() if target.strip() == "about:blank" else urljoin(base, target.strip())
    problem = scheme_problem(url) or (
        None if url == "about:blank" or urlsplit(url).scheme else f"not an absolute URL: {url!r}"
    )
    if problem:
        raise UnsafeUrlError(problem)
    return url
