"""``optexity-runner``: the command line. Builds settings at the edge and wires the parts.

Exit codes (README): 0 success, 1 step failed, 2 invalid input, 3 human-in-the-loop timeout,
4 run time limit, 5 browser could not start.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from playwright.async_api import async_playwright
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from optexity_runner.browser import launch_browser
from optexity_runner.console import ConsoleReporter
from optexity_runner.errors import (
    ExitCode,
    InvalidAutomationError,
    InvalidParameterError,
    OptexityError,
)
from optexity_runner.loader import load_automation
from optexity_runner.result import RunResult
from optexity_runner.run_store import new_run_id
from optexity_runner.runner import RunRequest, run_automation
from optexity_runner.settings import RunnerSettings
from schemas import Automation

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Run Optexity browser automations locally, with a human-in-the-loop pause.",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"optexity-runner {version('optexity-runner')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Run Optexity browser automations locally, with a human-in-the-loop pause."""


FileArg = Annotated[Path, typer.Argument(help="The automation JSON file.", show_default=False)]


@app.command()
def validate(file: FileArg) -> None:
    """Check a file against the format (schema, locators, conditions) without a browser."""
    automation = _load_or_exit(file)
    for warning in automation.unhonoured_field_warnings():
        err.print(Text.assemble(("warning: ", "yellow"), warning))
    count = len(automation.nodes)
    nodes = f"{count} node" if count == 1 else f"{count} nodes"
    err.print(Text.assemble(("valid: ", "green"), f"{file} ({nodes})"))


@app.command()
def run(
    file: FileArg,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="name=value; repeat a name to give several values."),
    ] = None,
    params_file: Annotated[
        Path | None, typer.Option(help='JSON object {"name": "value" or ["v1", "v2"]}.')
    ] = None,
    headed: Annotated[bool, typer.Option(help="Show the browser window.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Folder for run folders [default: runs].")
    ] = None,
    trace: Annotated[bool, typer.Option(help="Record a Playwright trace (trace.zip).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print result.json on stdout.")] = False,
    chromium: Annotated[Path | None, typer.Option(help="Chromium executable.")] = None,
    upload_dir: Annotated[
        list[Path] | None,
        typer.Option(help="Folder upload_file may read besides the file's own (repeatable)."),
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option(help="Hard limit on the run in seconds (<= 600).")
    ] = None,
    notify: Annotated[
        list[str] | None, typer.Option(help="Address mailed when the run pauses (repeatable).")
    ] = None,
    smtp_host: Annotated[str | None, typer.Option(help="SMTP server.")] = None,
    smtp_port: Annotated[int | None, typer.Option(help="SMTP port.")] = None,
    smtp_user: Annotated[str | None, typer.Option(help="SMTP user.")] = None,
    smtp_password: Annotated[
        str | None, typer.Option(help="SMTP password (prefer OPTEXITY_SMTP_PASSWORD).")
    ] = None,
    smtp_starttls: Annotated[
        bool | None, typer.Option("--smtp-starttls/--smtp-ssl", help="STARTTLS or implicit TLS.")
    ] = None,
    mail_from: Annotated[str | None, typer.Option(help="Sender of pause mails.")] = None,
    stream_host: Annotated[str | None, typer.Option(help="Live view bind address.")] = None,
    stream_port: Annotated[int | None, typer.Option(help="Live view port (0: a free one).")] = None,
    public_url: Annotated[
        str | None, typer.Option(help="Base URL of the live view as people reach it.")
    ] = None,
) -> None:
    """Run an automation in Chromium and write its run folder."""
    automation = _load_or_exit(file)
    overrides = _parameters_or_exit(automation, param or [], params_file)
    options: dict[str, Any] = {
        "headless": False if headed else None,
        "out_dir": out,
        "trace": trace or None,
        "chromium": chromium,
        "run_time_limit": time_limit,
        "upload_dirs": upload_dir,
        "notify": notify,
        "smtp_host": smtp_host,
        "smtp_port": smtp_port,
        "smtp_user": smtp_user,
        "smtp_password": smtp_password,
        "mail_from": mail_from,
        "stream_host": stream_host,
        "stream_port": stream_port,
        "public_url": public_url,
    }
    if smtp_starttls is not None:
        options["smtp_starttls"], options["smtp_ssl"] = smtp_starttls, not smtp_starttls
    try:
        settings = RunnerSettings(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        _fail(ExitCode.INVALID_INPUT, settings_problems(exc))
    missing = missing_environment(automation)
    if missing:
        _fail(ExitCode.INVALID_INPUT, missing)
    request = RunRequest(
        automation=automation,
        name=file.stem,
        source_dir=file.resolve().parent,
        settings=settings,
        overrides=overrides,
        run_id=new_run_id(),
    )
    try:
        result = asyncio.run(_run(request, quiet=as_json))
    except OptexityError as exc:
        _fail(exc.exit_code, str(exc))
    except (KeyboardInterrupt, asyncio.CancelledError):
        _fail(
            ExitCode.INTERRUPTED,
            f"interrupted; the run's record: {settings.out_dir / str(request.run_id)}",
        )
    if as_json:
        sys.stdout.write((Path(result.run_dir) / "result.json").read_text(encoding="utf-8"))
    raise typer.Exit(exit_code_for(result))


def exit_code_for(result: RunResult) -> int:
    """The process exit code of a finished run (the error records its own)."""
    if result.error is None:
        return ExitCode.SUCCESS
    return result.error.exit_code


async def _run(request: RunRequest, quiet: bool) -> RunResult:
    # SIGTERM (docker stop, systemd) ends the run like Ctrl+C: cancelled, record written.
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    reporter = ConsoleReporter(err, quiet=quiet)
    request.listeners.append(reporter.on_event)
    async with async_playwright() as playwright:
        browser = await launch_browser(
            playwright, request.settings.chromium, request.settings.headless
        )
        try:
            async with _human_loop(request, reporter):
                result = await run_automation(request, browser)
        finally:
            await browser.close()
    reporter.summary(result)
    return result


def _human_loop(request: RunRequest, reporter: ConsoleReporter) -> Any:
    from optexity_runner.hitl_wiring import human_loop_for

    return human_loop_for(request, reporter)


def _load_or_exit(file: Path) -> Automation:
    try:
        return load_automation(file)
    except InvalidAutomationError as exc:
        _fail(ExitCode.INVALID_INPUT, str(exc))


def _parameters_or_exit(
    automation: Automation, pairs: list[str], params_file: Path | None
) -> dict[str, list[str]]:
    try:
        return parse_parameters(automation, pairs, params_file)
    except InvalidParameterError as exc:
        _fail(ExitCode.INVALID_INPUT, str(exc))


def parse_parameters(
    automation: Automation, pairs: list[str], params_file: Path | None
) -> dict[str, list[str]]:
    """``--param``/``--params-file`` values by name; only declared input parameters."""
    values: dict[str, list[str]] = {}
    if params_file is not None:
        try:
            data = json.loads(params_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidParameterError(f"--params-file {params_file}: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidParameterError(f"--params-file {params_file}: expected a JSON object")
        for name, value in data.items():
            items = value if isinstance(value, list) else [value]
            values[name] = [v if isinstance(v, str) else json.dumps(v) for v in items]
    from_pairs: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidParameterError(f"--param {pair!r}: expected name=value")
        from_pairs.setdefault(name.strip(), []).append(value)
    values.update(from_pairs)
    declared = automation.parameters.input_parameters
    secure = automation.parameters.secure_parameters
    for name in values:
        if name in secure:
            raise InvalidParameterError(
                f"parameter {name!r} is a secure parameter: it is never given on the command line"
                + "".join(f"; it is read from ${v.env}" for v in secure[name][:1] if v.env)
            )
        if name not in declared:
            close = difflib.get_close_matches(name, list(declared), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(declared)) or "none"
            raise InvalidParameterError(
                f"parameter {name!r} is not an input parameter of this automation{hint} "
                f"(input parameters: {known})"
            )
    return values


def missing_environment(automation: Automation) -> str | None:
    """Which ``{"env": ...}`` secrets are unset, as a message; checked before the browser."""
    missing = {
        value.env: name
        for name, values in automation.parameters.secure_parameters.items()
        for value in values
        if value.env is not None and value.env not in os.environ
    }
    if not missing:
        return None
    listed = ", ".join(f"${var} (for {name})" for var, name in sorted(missing.items()))
    return f"secure parameters read from the environment are not set: {listed}"


def settings_problems(error: ValidationError) -> str:
    """Every invalid setting, named as the user wrote it (option and variable), with its value."""
    lines = []
    for detail in error.errors(include_url=False):
        field = str(detail["loc"][0]) if detail["loc"] else "?"
        option = OPTION_NAMES.get(field, "--" + field.replace("_", "-"))
        message = str(detail["msg"]).removeprefix("Value error, ")
        lines.append(f"{option} (OPTEXITY_{field.upper()}): {message}, got {detail['input']!r}")
    return "invalid settings:\n  " + "\n  ".join(lines)


#: Settings whose command-line option is not simply ``--field-name``.
OPTION_NAMES = {
    "run_time_limit": "--time-limit",
    "out_dir": "--out",
    "upload_dirs": "--upload-dir",
    "headless": "--headed",
}


def _fail(code: int, message: str) -> NoReturn:
    # Plain text, never markup: messages quote file content such as "[/oops]".
    err.print(Text.assemble(("error: ", "red"), message))
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    app()
