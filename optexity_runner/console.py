"""The terminal view of a run: a line per node as it finishes, and a summary."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from optexity_runner.result import RunResult

_MARKS = {
    "success": "[green]ok[/]",
    "failed": "[red]FAILED[/]",
    "skipped": "[yellow]skipped[/]",
    "optional_step_skipped": "[yellow]optional, skipped[/]",
}


class ConsoleReporter:
    """Turns run events into terminal lines (on stderr, so ``--json`` stdout stays clean)."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet

    def line(self, text: str) -> None:
        """A line that is always shown (the pause link must reach the person)."""
        self.console.print(text, soft_wrap=True)

    def on_event(self, record: dict[str, Any]) -> None:
        if self.quiet:
            return
        event = record["event"]
        if event == "run_started":
            self.line(f"[bold]{escape(str(record['automation']))}[/]  run {record['run_id']}")
            if record.get("description"):
                self.line(f"[dim]{escape(str(record['description']))}[/]")
        elif event in ("node_finished", "skipped", "optional_step_skipped"):
            mark = _MARKS.get(str(record.get("status")), str(record.get("status")))
            command = f"  {escape(str(record['command']))}" if record.get("command") else ""
            took = f"{record.get('duration_ms', 0):>8.0f} ms"
            tries = f" ({record['tries']} tries)" if (record.get("tries") or 1) > 1 else ""
            action = record.get("action", "")
            where = str(record["node_index"])
            if record.get("iteration"):  # loop body: which iteration, outermost first
                where += "[" + ",".join(str(i) for i in record["iteration"]) + "]"
            self.line(
                f"  {where:>8}  {action}{command}{_flow_detail(record)}  {took}  {mark}{tries}"
            )
            if record.get("error") and record.get("status") != "failed":
                self.line(f"          [dim]{escape(str(record['error']))}[/]")
        elif event == "warning":
            self.line(f"[yellow]warning:[/] {escape(str(record['message']))}")
        elif event == "attempt_retrying":
            self.line(
                f"[yellow]retrying[/] (attempt {record['attempt']}) in {record['backoff_s']:g} s"
            )

    def summary(self, result: RunResult) -> None:
        if self.quiet:
            return
        colour = {"success": "green", "failed": "red", "timed_out": "red"}[result.status]
        where = f"{result.run_dir}/result.json"
        self.line(f"[{colour}]{result.status}[/] in {result.duration_s:.1f} s  ->  {where}")
        if result.error is not None:
            where = f" at node {result.error.node_index}" if result.error.node_index else ""
            self.line(f"  [red]{result.error.type}{where}:[/] {escape(result.error.message)}")
            if result.error.screenshot:
                self.line(f"  screenshot: {result.run_dir}/{result.error.screenshot}")
        for name, value in result.outputs.items():
            self.line(f"  output {escape(name)} = {escape(repr(value))}")


def _flow_detail(record: dict[str, Any]) -> str:
    """What a flow node decided: the branch taken, the iterations run, the assertion result."""
    if "branch" in record:
        return f"  -> {record['branch']}"
    if "iterations" in record:
        failed = len(record.get("failed_iterations") or [])
        return f"  {record['iterations']} iteration(s)" + (f", {failed} failed" if failed else "")
    if "assertion" in record:
        return f"  -> {str(record.get('result')).lower()}"
    return ""
