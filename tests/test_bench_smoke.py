"""The benchmarks still run: every figure module, with tiny parameters (``quick``).

Not a timed test: it checks that each figure is produced with its rows, never the values.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest

# ``bench`` is a folder of the repository, not part of the installed package (make bench runs
# it from the repository root): make it importable here the same way.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import live_view, overhead, resume, scale, startup
from bench.__main__ import FIGURES
from bench.common import machine
from bench.report import Figure, markdown

MODULES = {1: overhead, 2: resume, 3: live_view, 4: scale, 5: startup}


@pytest.fixture(scope="module")
def figures() -> dict[int, Figure]:
    return {}


@pytest.mark.parametrize("number", sorted(MODULES))
async def test_figure_is_produced_in_quick_mode(number: int, figures: dict[int, Figure]) -> None:
    figure = await MODULES[number].measure(quick=True)
    assert figure.number == number
    assert figure.rows, "a figure without rows"
    assert all(row.value for row in figure.rows)
    assert any(row.target for row in figure.rows), "every figure checks at least one target"
    assert not any(row.metric == "the benchmark failed" for row in figure.rows)
    figures[number] = figure


def test_every_figure_module_is_registered() -> None:
    assert {number: measure for number, (_, measure) in FIGURES.items()} == {
        number: module.measure for number, module in MODULES.items()
    }


def test_results_markdown_has_a_table_per_figure(figures: dict[int, Figure]) -> None:
    if len(figures) < len(MODULES):
        pytest.skip("a figure did not run")
    text = markdown(list(figures.values()), machine(), datetime.now().astimezone(), 1.0, 0.0)
    for number, figure in figures.items():
        assert f"## {number}. {figure.title}" in text
    assert text.count("| Metric | Value | Target | |") == len(MODULES)
    assert "Chromium" in text
