"""The whole pause stack as the CLI wires it: live view server, links, HTTP and websocket.

Runs go through ``hitl_wiring.human_loop_for`` (real uvicorn in the test's loop); the person
uses the link the runner printed, through httpx and websockets.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from playwright.async_api import Browser
from support.hitl import (
    PASSWORD,
    LiveTerminal,
    Terminal,
    hitl_login,
    live_run,
    new_step,
    pause_node,
)
from support.paths import EXAMPLES
from support.runs import automation, events_of, of, run_files_text

from optexity_runner.context import RunContext, RunState, StepContext
from optexity_runner.errors import HumanInLoopTimeoutException
from optexity_runner.hitl import HumanLoopService, PauseServices
from optexity_runner.hitl_wiring import has_human_in_loop, human_loop_for
from optexity_runner.loader import parse_automation
from optexity_runner.pause import PauseCoordinator
from optexity_runner.runner import RunRequest
from optexity_runner.settings import RunnerSettings
from optexity_runner.tokens import LinkSigner
from stream_ui.server import LiveViewServer

VENV_BIN = Path(sys.executable).parent


def split(link: str) -> tuple[str, str]:
    """``(base_url, token)`` of ``http://host:port/live#token``."""
    base, _, token = link.partition("/live#")
    return base, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def done(client: httpx.AsyncClient, link: str) -> httpx.Response:
    base, token = split(link)
    return await client.post(f"{base}/api/pause/done", headers=bearer(token))


# --- wiring --------------------------------------------------------------------------------


def test_wiring_finds_a_pause_at_any_depth() -> None:
    nested = {
        "type": "if_else_node",
        "condition": "1 == 1",
        "if_nodes": [{"type": "for_loop_node", "variable_name": "x", "nodes": [pause_node(5)]}],
    }
    with_pause = parse_automation(json.dumps(automation("http://x", [nested])), "<t>")
    without = parse_automation(json.dumps(automation("http://x", [])), "<t>")
    assert has_human_in_loop(with_pause.nodes)
    assert not has_human_in_loop(without.nodes)


async def test_no_pause_in_the_automation_starts_nothing(settings: RunnerSettings) -> None:
    request = RunRequest(
        automation=parse_automation(json.dumps(automation("http://x", [])), "<t>"),
        name="t",
        source_dir=EXAMPLES,
        settings=settings,
    )
    async with human_loop_for(request, Terminal()) as coordinator:
        assert coordinator is None
        assert request.hitl is None


@pytest.mark.parametrize(
    ("host", "public_url", "warned"),
    [
        ("0.0.0.0", None, True),
        ("0.0.0.0", "http://runner.acme.test", True),
        ("0.0.0.0", "https://runner.acme.test", False),
        ("127.0.0.1", None, False),
        ("127.0.0.1", "http://runner.acme.test", False),
    ],
)
async def test_plain_http_links_beyond_this_machine_are_warned_about_once(
    tmp_path: Path, host: str, public_url: str | None, warned: bool
) -> None:
    settings = RunnerSettings(
        out_dir=tmp_path, stream_host=host, public_url=public_url, _env_file=None
    )
    request = RunRequest(
        automation=parse_automation(json.dumps(automation("http://x", [pause_node(5)])), "<t>"),
        name="t",
        source_dir=EXAMPLES,
        settings=settings,
    )
    terminal = Terminal()
    async with human_loop_for(request, terminal) as coordinator:
        assert coordinator is not None
    warnings = [line for line in terminal.lines if "plain http" in line]
    assert len(warnings) == (1 if warned else 0), terminal.lines
    if warned:
        assert "https reverse proxy" in warnings[0]
        assert "--public-url https://" in warnings[0]


async def test_a_wildcard_bind_names_the_machine_without_a_dns_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dns(name: str = "") -> str:
        raise AssertionError("getfqdn() looks the name up in DNS, which can stall")

    monkeypatch.setattr(socket, "getfqdn", no_dns)
    settings = RunnerSettings(out_dir=tmp_path, stream_host="0.0.0.0", _env_file=None)
    server = LiveViewServer(PauseCoordinator(), LinkSigner("k"), settings)
    bound = await server.start()
    try:
        assert server.public_base_url == bound.replace("0.0.0.0", socket.gethostname())
    finally:
        await server.stop()


# --- through the live view's API -------------------------------------------------------------


async def test_done_over_http_resumes_and_the_link_then_answers_410(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    data = automation(f"{demo_site.base_url}/login", [pause_node(10)])
    async with live_run(data, browser, settings) as run, httpx.AsyncClient() as client:
        link = await run.terminal.link()
        base, token = split(link)
        opened = await client.get(f"{base}/live")
        assert opened.status_code == 200
        state = await client.get(f"{base}/api/pause", headers=bearer(token))
        assert state.status_code == 200
        assert not run.task.done(), "opening the link changes nothing"
        first = await done(client, link)
        assert first.status_code == 200
        assert first.json()["outcome"]["outcome"] == "done"
        result = await run.result()
        again = await done(client, link)
        after = await client.get(f"{base}/api/pause", headers=bearer(token))
    assert result.status == "success", result.error
    assert again.status_code == 410
    assert after.status_code == 410
    assert "This pause has ended" in again.json()["detail"]
    assert again.json()["outcome"]["outcome"] == "done"
    assert [p.outcome for p in result.pauses] == ["done"]


async def test_done_twice_from_two_tabs_records_one_outcome(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    data = automation(f"{demo_site.base_url}/login", [pause_node(10)])
    async with (
        live_run(data, browser, settings) as run,
        httpx.AsyncClient() as tab_a,
        httpx.AsyncClient() as tab_b,
    ):
        link = await run.terminal.link()
        answers = await asyncio.gather(done(tab_a, link), done(tab_b, link))
        result = await run.result()
    assert sorted(a.status_code for a in answers) == [200, 410]
    assert {a.json()["outcome"]["outcome"] for a in answers} == {"done"}
    assert len({a.json()["outcome"]["at"] for a in answers}) == 1, "the same recorded outcome"
    assert result.status == "success", result.error
    assert len(result.pauses) == 1
    assert len(of(result, "hitl_resolved")) == 1


async def test_reject_over_http_fails_the_run_with_the_reason(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    data = automation(f"{demo_site.base_url}/login", [pause_node(10)])
    async with live_run(data, browser, settings) as run, httpx.AsyncClient() as client:
        base, token = split(await run.terminal.link())
        answer = await client.post(
            f"{base}/api/pause/reject", headers=bearer(token), json={"reason": "no 2FA device"}
        )
        result = await run.result()
    assert answer.status_code == 200
    assert result.error is not None
    assert result.error.type == "HumanInLoopRejectedException"
    assert "no 2FA device" in result.error.message
    assert result.pauses[0].reason == "no 2FA device"
    saved = json.loads((Path(result.run_dir) / "result.json").read_text())
    assert "no 2FA device" in saved["error"]["message"]


async def test_an_expired_pause_fails_the_run_and_its_link_says_expired(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    data = hitl_login(demo_site.base_url, max_wait_time=0.5)
    async with live_run(data, browser, settings) as run, httpx.AsyncClient() as client:
        link = await run.terminal.link()
        result = await run.result()
        base, token = split(link)
        answer = await client.get(f"{base}/api/pause", headers=bearer(token))
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error.type, result.error.limit) == (
        "HumanInLoopTimeoutException",
        "max_wait_time",
    )
    assert (Path(result.run_dir) / "result.json").exists()
    assert answer.status_code == 410
    assert "expired" in answer.json()["detail"]


async def test_several_pauses_have_distinct_links_each_dead_after_its_pause(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    data = automation(f"{demo_site.base_url}/login", [pause_node(10), pause_node(10)])
    async with live_run(data, browser, settings) as run, httpx.AsyncClient() as client:
        first = await run.terminal.link(1)
        assert (await done(client, first)).status_code == 200
        second = await run.terminal.link(2)
        reused = await done(client, first)
        assert reused.status_code == 410, "the first link cannot end the second pause"
        assert not run.task.done()
        assert (await done(client, second)).status_code == 200
        result = await run.result()
    assert first != second
    assert split(first)[1] != split(second)[1]
    assert result.status == "success", result.error
    assert len({p.pause_id for p in result.pauses}) == 2


async def test_viewer_connections_are_recorded_in_the_run(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    data = automation(f"{demo_site.base_url}/login", [pause_node(10)])
    async with live_run(data, browser, settings) as run, httpx.AsyncClient() as client:
        link = await run.terminal.link()
        base, token = split(link)
        ws_url = base.replace("http://", "ws://") + "/ws"
        async with websockets.connect(ws_url) as viewer:
            await viewer.send(json.dumps({"token": token}))
            hello = json.loads(await viewer.recv())
            assert hello["type"] == "hello"
        for _ in range(100):  # the server notices the close on its next loop turns
            if any(e["event"] == "hitl_viewer_disconnected" for _, e in run.times):
                break
            await asyncio.sleep(0.02)
        await done(client, link)
        result = await run.result()
    connected = of(result, "hitl_viewer_connected")
    disconnected = of(result, "hitl_viewer_disconnected")
    assert len(connected) == 1
    assert len(disconnected) == 1
    assert connected[0]["pause_id"] == result.pauses[0].pause_id
    assert connected[0]["node_index"] == "0"
    assert token not in run_files_text(result)


async def test_the_next_node_starts_soon_after_done(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    sleep = {"type": "action_node", "sleep_action": {"sleep_time": 0}, "end_sleep_time": 0}
    data = automation(f"{demo_site.base_url}/login", [pause_node(10), sleep])
    async with live_run(data, browser, settings) as run, httpx.AsyncClient() as client:
        link = await run.terminal.link()
        await asyncio.sleep(0.1)
        pressed = time.perf_counter()
        await done(client, link)
        result = await run.result()
    assert result.status == "success", result.error
    [started] = [t for t, e in run.times if e["event"] == "node_started" and e["node_index"] == "1"]
    # Generous on purpose (a loaded CI machine); the benchmarks measure it precisely.
    assert started - pressed < 0.5


async def test_done_racing_the_deadline_over_http_has_one_outcome_each_time(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    coordinator, signer = PauseCoordinator(), LinkSigner("race")
    server = LiveViewServer(coordinator, signer, settings)
    await server.start()
    terminal = LiveTerminal()
    shared = PauseServices(
        coordinator, signer, server.public_base_url, settings, None, terminal.line
    )
    step = await _step(browser, settings, f"{demo_site.base_url}/login")
    service = HumanLoopService(shared, step.run.run_id, "race", step.run.store)
    answers: list[httpx.Response] = []
    raised: list[str] = []
    try:
        async with httpx.AsyncClient() as client:
            for i in range(50):
                waiting = asyncio.create_task(
                    service.pause(step, _action(max_wait_time=0.02 + (i % 5) * 0.002))
                )
                link = await terminal.link(i + 1)
                await asyncio.sleep(0.015 + (i % 7) * 0.002)
                answers.append(await done(client, link))
                try:
                    await waiting
                    raised.append("done")
                except HumanInLoopTimeoutException:
                    raised.append("timed_out")
    finally:
        await server.stop()
        step.run.store.close()
        await step.run.tabs.context.close()
    records = [r.outcome for r in step.run.state.pauses]
    told = [a.json()["outcome"]["outcome"] for a in answers]
    assert records == raised
    assert told == raised, "Done is told the outcome that was recorded"
    for answer, outcome in zip(answers, raised, strict=True):
        assert answer.status_code == (200 if outcome == "done" else 410)


def _action(max_wait_time: float) -> Any:
    from schemas import HumanInLoopAction

    return HumanInLoopAction(max_wait_time=max_wait_time)


async def _step(browser: Browser, settings: RunnerSettings, url: str) -> StepContext:
    step = await new_step(browser, settings, url)
    assert isinstance(step.run, RunContext)
    assert isinstance(step.run.state, RunState)
    return step


# --- the command line ----------------------------------------------------------------------


def _cli(tmp_path: Path, data: dict[str, Any], *args: str) -> subprocess.Popen[str]:
    path = tmp_path / "automation.json"
    path.write_text(json.dumps(data))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTEXITY_")}
    return subprocess.Popen(
        [str(VENV_BIN / "optexity-runner"), "run", str(path), "--out", str(tmp_path / "runs"),
         *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def test_cli_exits_3_when_nobody_presses_done(demo_site: Any, tmp_path: Path) -> None:
    data = hitl_login(demo_site.base_url, max_wait_time=1)
    process = _cli(tmp_path, data)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 3, stderr
    assert re.search(r"open the live view: http://127\.0\.0\.1:\d+/live#\S+", stderr)
    [run_dir] = (tmp_path / "runs").iterdir()
    saved = json.loads((run_dir / "result.json").read_text())
    assert saved["status"] == "failed"
    assert saved["error"]["type"] == "HumanInLoopTimeoutException"
    assert saved["error"]["limit"] == "max_wait_time"
    assert saved["pauses"][0]["outcome"] == "timed_out"
    assert (run_dir / "pause-1.eml").exists()


async def test_cli_run_resumes_when_done_is_pressed_on_the_printed_link(
    demo_site: Any, tmp_path: Path
) -> None:
    data = automation(f"{demo_site.base_url}/login", [pause_node(20)])
    process = _cli(tmp_path, data, "--json")
    assert process.stderr is not None
    loop = asyncio.get_running_loop()
    link = None
    while link is None:
        line = await loop.run_in_executor(None, process.stderr.readline)
        assert line, "the runner ended without printing a link"
        match = re.search(r"http://\S+/live#\S+", line)
        link = match.group(0) if match else None
    async with httpx.AsyncClient() as client:
        assert (await done(client, link)).status_code == 200
    stdout, _ = await loop.run_in_executor(None, process.communicate, None, 60)
    assert process.returncode == 0
    assert json.loads(stdout)["pauses"][0]["outcome"] == "done"


async def test_result_and_events_never_hold_the_link(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    data = automation(f"{demo_site.base_url}/login", [pause_node(10)])
    async with live_run(data, browser, settings) as run, httpx.AsyncClient() as client:
        link = await run.terminal.link()
        await done(client, link)
        result = await run.result()
    files = run_files_text(result)
    assert split(link)[1] not in files
    assert [e["event"] for e in events_of(result)].count("hitl_requested") == 1
    assert PASSWORD not in files
