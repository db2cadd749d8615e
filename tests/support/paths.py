"""Where the repository, its examples and the test pages are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "examples"
TEST_SITE = ROOT / "tests" / "site"
EXAMPLE_BASE = "http://127.0.0.1:8765"
"""The demo site's address written in the examples (``example`` swaps it)."""
