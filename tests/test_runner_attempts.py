"""Whole-run behaviour around the nodes: ``max_retries`` (fresh context, backoff, one record
per attempt, never after a HITL timeout), ``post_processing_nodes`` and ``expected_downloads``.

The flaky page is served by a real HTTP server on loopback that remembers how often it was
visited, so a retry really meets a page that behaves differently.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from playwright.async_api import Browser
from support.runs import action_node, automation, events_of, run_data

from optexity_runner.context import StepContext
from optexity_runner.errors import HumanInLoopTimeoutException
from optexity_runner.loader import parse_automation
from optexity_runner.result import RunResult
from optexity_runner.run_store import RunStore
from optexity_runner.runner import RunRequest, run_automation
from optexity_runner.settings import RunnerSettings
from schemas import HumanInLoopAction


class FlakyPage:
    """``/page``: the ``#ready`` button exists only from visit ``ready_from`` on. Each visit
    shows its number and whether the browser sent the cookie the first visit set."""

    def __init__(self) -> None:
        self.visits = 0
        self.ready_from = 2
        self.lock = threading.Lock()

    def render(self, cookie: str | None) -> bytes:
        with self.lock:
            self.visits += 1
            visit = self.visits
        button = '<button id="ready">Ready</button>' if visit >= self.ready_from else ""
        seen = "yes" if cookie and "visited=1" in cookie else "no"
        return (
            f'<!doctype html><title>Flaky</title><p id="visit">{visit}</p>'
            f'<p id="cookie">{seen}</p>{button}'
        ).encode()


@pytest.fixture
def flaky() -> Iterator[tuple[FlakyPage, str]]:
    """A fresh flaky page on a free loopback port; yields it and its URL."""
    page = FlakyPage()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/page":  # the browser also asks for /favicon.ico
                self.send_error(404)
                return
            body = page.render(self.headers.get("Cookie"))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Set-Cookie", "visited=1; Path=/")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield page, f"http://127.0.0.1:{server.server_address[1]}/page"
    server.shutdown()
    server.server_close()


def extract(command: str, name: str) -> dict[str, Any]:
    body = {"command": command, "output_variable_name": name, "extraction_format": {name: "str"}}
    return {"type": "action_node", "extraction_action": {"locator": body}, "end_sleep_time": 0}


def click_ready(selector: str = "#ready") -> dict[str, Any]:
    return action_node(
        "click_element",
        {"command": f'locator("{selector}")'},
        max_tries=1,
        max_timeout_seconds_per_try=0.2,
    )


def state(name: str) -> dict[str, Any]:
    return {
        "type": "action_node",
        "extraction_action": {"state": {"output_variable_name": name}},
        "end_sleep_time": 0,
    }


def flaky_run(url: str, **top: Any) -> dict[str, Any]:
    nodes = [
        extract('locator("#visit")', "visit"),
        extract('locator("#cookie")', "cookie"),
        click_ready(),
    ]
    return automation(url, nodes, **top)


def event_names(result: RunResult, *names: str) -> list[dict[str, Any]]:
    return [e for e in events_of(result) if e["event"] in names]


# --- max_retries ------------------------------------------------------------------------


async def test_a_failed_attempt_is_retried_in_a_fresh_browser_context(
    browser: Browser, settings: RunnerSettings, flaky: tuple[FlakyPage, str]
) -> None:
    page, url = flaky
    result = await run_data(flaky_run(url, max_retries=2), browser, settings)
    assert result.status == "success", result.error
    assert [(a.attempt, a.status) for a in result.attempts] == [(1, "failed"), (2, "success")]
    first = result.attempts[0].error
    assert first is not None
    assert (first.type, first.node_index) == ("StepFailedError", "2")
    assert result.error is None
    # A fresh context: the cookie the first attempt received was not sent again.
    assert result.outputs == {"visit": "2", "cookie": "no"}
    assert [(n.index, n.attempt) for n in result.nodes] == [
        ("0", 1), ("1", 1), ("2", 1), ("0", 2), ("1", 2), ("2", 2),
    ]  # fmt: skip
    assert [e["attempt"] for e in event_names(result, "attempt_started")] == [1, 2]
    assert page.visits == 2


async def test_the_last_attempts_failure_is_the_runs_and_every_attempt_is_recorded(
    browser: Browser, tmp_path: Any, flaky: tuple[FlakyPage, str]
) -> None:
    page, url = flaky
    page.ready_from = 99
    settings = RunnerSettings(out_dir=tmp_path / "runs", retry_backoff=0.2, _env_file=None)
    result = await run_data(flaky_run(url, max_retries=2), browser, settings)
    assert result.status == "failed"
    assert [a.status for a in result.attempts] == ["failed"] * 3
    assert result.error == result.attempts[-1].error
    assert result.outputs == {"visit": "3", "cookie": "no"}  # the last attempt's values only
    screenshots = [a.error.screenshot for a in result.attempts if a.error]
    assert screenshots == ["failure.png", "failure-attempt2.png", "failure-attempt3.png"]
    # Backoff doubles: 0.2 s, then 0.4 s, measured between the events.
    retrying = event_names(result, "attempt_retrying")
    assert [(e["attempt"], e["backoff_s"]) for e in retrying] == [(2, 0.2), (3, 0.4)]
    starts = {e["attempt"]: e for e in event_names(result, "attempt_started")}
    for event in retrying:
        waited = _seconds_between(event, starts[event["attempt"]])
        assert waited >= event["backoff_s"] - 0.01


def _seconds_between(earlier: dict[str, Any], later: dict[str, Any]) -> float:
    return (
        datetime.fromisoformat(later["ts"]) - datetime.fromisoformat(earlier["ts"])
    ).total_seconds()


class TimingOutPerson:
    """A pause service whose person never answers: the pause times out at once."""

    async def pause(self, step: StepContext, action: HumanInLoopAction) -> None:
        raise HumanInLoopTimeoutException("nobody pressed Done within 1 s", limit="max_wait_time")


async def test_no_retry_after_a_human_in_the_loop_timeout(
    browser: Browser, settings: RunnerSettings, flaky: tuple[FlakyPage, str]
) -> None:
    page, url = flaky
    nodes = [
        {"type": "action_node", "human_in_loop_action": {"max_wait_time": 1}, "end_sleep_time": 0}
    ]

    def hitl(run_id: str, name: str, store: RunStore) -> TimingOutPerson:
        return TimingOutPerson()

    result = await run_data(automation(url, nodes, max_retries=3), browser, settings, hitl=hitl)
    assert result.status == "failed"
    assert len(result.attempts) == 1
    assert result.error is not None
    assert (result.error.type, result.error.limit) == (
        "HumanInLoopTimeoutException",
        "max_wait_time",
    )
    assert page.visits == 1


@pytest.mark.parametrize(
    ("node", "error_type"),
    [
        ({"fail_state_action": {"failure_message": "wrong account"}}, "FailStateError"),
        ({"assertion_action": {"llm": {"extraction_instructions": "x"}}}, "ProviderRequiredError"),
    ],
)
async def test_no_retry_when_a_retry_cannot_help(
    browser: Browser,
    settings: RunnerSettings,
    flaky: tuple[FlakyPage, str],
    node: dict[str, Any],
    error_type: str,
) -> None:
    _, url = flaky
    data = automation(url, [{"type": "action_node", **node, "end_sleep_time": 0}], max_retries=2)
    parsed = parse_automation(json.dumps(data), "<test>", providers=["llm"])
    result = await run_automation(RunRequest(parsed, "test", settings.out_dir, settings), browser)
    assert result.error is not None
    assert result.error.type == error_type
    assert len(result.attempts) == 1


# --- post_processing_nodes --------------------------------------------------------------


async def test_post_processing_runs_after_the_nodes_succeed(
    browser: Browser, settings: RunnerSettings, flaky: tuple[FlakyPage, str]
) -> None:
    page, url = flaky
    page.ready_from = 1
    result = await run_data(
        flaky_run(url, post_processing_nodes=[state("after")]), browser, settings
    )
    assert result.status == "success", result.error
    assert result.outputs["after"]["title"] == "Flaky"
    assert result.nodes[-1].index == "post.0"


async def test_post_processing_runs_once_after_the_final_failed_attempt(
    browser: Browser, settings: RunnerSettings, flaky: tuple[FlakyPage, str]
) -> None:
    page, url = flaky
    page.ready_from = 99
    data = flaky_run(url, max_retries=1, post_processing_nodes=[state("after")])
    result = await run_data(data, browser, settings)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.node_index == "2"  # post-processing never replaces the run's error
    assert [(n.index, n.attempt) for n in result.nodes if n.index.startswith("post.")] == [
        ("post.0", 2)
    ]
    assert [e["attempt"] for e in event_names(result, "post_processing_deferred")] == [1]
    assert result.outputs["after"]["url"] == url


async def test_a_failing_post_processing_node_is_recorded_and_the_run_still_succeeds(
    browser: Browser, settings: RunnerSettings, flaky: tuple[FlakyPage, str]
) -> None:
    page, url = flaky
    page.ready_from = 1
    post = [click_ready("#gone"), state("never")]
    result = await run_data(flaky_run(url, post_processing_nodes=post), browser, settings)
    assert result.status == "success", result.error
    assert "never" not in result.outputs
    [failed] = event_names(result, "post_processing_failed")
    assert "#gone" in failed["error"]


async def test_post_processing_stays_within_the_runs_time_limit(
    browser: Browser, tmp_path: Any, flaky: tuple[FlakyPage, str]
) -> None:
    _, url = flaky
    settings = RunnerSettings(
        out_dir=tmp_path / "runs", retry_backoff=0, run_time_limit=1.5, _env_file=None
    )
    sleep = {"type": "action_node", "sleep_action": {"sleep_time": 5}, "end_sleep_time": 0}
    data = automation(url, [sleep], post_processing_nodes=[sleep, state("late")])
    result = await run_data(data, browser, settings)
    assert result.status == "timed_out"
    assert result.duration_s < 5  # neither the 5 s node nor post-processing ran to the end
    assert "late" not in result.outputs
    assert len(event_names(result, "post_processing_skipped", "post_processing_failed")) == 1


# --- expected_downloads -----------------------------------------------------------------


def download_click() -> dict[str, Any]:
    body = {"command": 'get_by_role("link", name="Download CSV")', "expect_download": True}
    return action_node("click_element", body)


async def test_expected_downloads_are_met(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    data = automation(f"{demo_site.base_url}/reports", [download_click()], expected_downloads=1)
    result = await run_data(data, browser, settings)
    assert result.status == "success", result.error
    assert len(result.downloads) == 1


async def test_too_few_downloads_fail_each_attempt_counting_its_own(
    browser: Browser, settings: RunnerSettings, demo_site: Any
) -> None:
    data = automation(
        f"{demo_site.base_url}/reports", [download_click()], expected_downloads=2, max_retries=1
    )
    result = await run_data(data, browser, settings)
    assert result.status == "failed"
    assert [a.error.message for a in result.attempts if a.error] == [
        "expected 2 download(s), got 1"
    ] * 2
    assert result.error is not None
    assert result.error.type == "ExpectedDownloadsError"
