"""Figures as data, printed on the terminal and written to ``bench/RESULTS.md``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.common import Machine

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


@dataclass
class Row:
    """One measured value, with its target when the issue sets one."""

    metric: str
    value: str
    target: str = ""
    met: bool | None = None
    """``None`` when the row has no target (context, a baseline, a breakdown)."""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: ""}[self.met]


@dataclass
class Figure:
    """One figure of issue 5: its rows, how it was measured, what limits it."""

    number: int
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    """How long measuring it took."""
    load: float = 0.0
    """The 1-minute load average when it started: other work on the machine skews timings."""

    def add(self, metric: str, value: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(metric, value, target, met))

    @property
    def missed(self) -> list[Row]:
        return [row for row in self.rows if row.met is False]


def console_text(figure: Figure) -> str:
    """The figure as aligned plain text."""
    width = max((len(row.metric) for row in figure.rows), default=0)
    value_width = max((len(row.value) for row in figure.rows), default=0)
    lines = [f"{figure.number}. {figure.title}  ({figure.seconds:.0f} s, load {figure.load:.1f})"]
    for row in figure.rows:
        target = f"  target {row.target}: {row.verdict}" if row.target else ""
        lines.append(f"   {row.metric.ljust(width)}  {row.value.rjust(value_width)}{target}")
    lines.extend(f"   - {note}" for note in figure.notes)
    return "\n".join(lines)


def markdown(
    figures: list[Figure], machine: Machine, started: datetime, seconds: float, load: float
) -> str:
    """The whole run as ``RESULTS.md``; ``load`` is the 1-minute load average at the start."""
    out = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand. Timing figures are",
        "ratios against a baseline measured in the same run where one exists.",
        "",
        f"- Run: {started:%Y-%m-%d %H:%M %Z}, {seconds:.0f} s in all",
        *(f"- {line}" for line in machine.lines()),
        f"- Load average at the start: {load:.2f} (other work on the machine skews timings)",
        "",
    ]
    for figure in figures:
        out += [f"## {figure.number}. {figure.title}", ""]
        out += [
            f"Measured in {figure.seconds:.0f} s; load average {figure.load:.2f} at the start.",
            "",
        ]
        out += ["| Metric | Value | Target | |", "| --- | ---: | --- | --- |"]
        for row in figure.rows:
            out.append(f"| {row.metric} | {row.value} | {row.target} | {row.verdict} |")
        out.append("")
        out.extend(f"- {note}" for note in figure.notes)
        out.append("")
    return "\n".join(out).rstrip() + "\n"
