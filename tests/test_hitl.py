"""The pause service in real runs: outcomes, limits, notification paths, records, secrets.

The person here acts directly on the ``Pause`` (as the live view does after checking the
token); ``test_hitl_live.py`` goes through the live view and a second browser.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import time
from collections.abc import Callable, Coroutine
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser
from support.hitl import LINK_RE, PASSWORD, Terminal, hitl_login, new_step, pause_node
from support.mail import Inbox, body_text, smtp_server
from support.net import closed_port
from support.runs import automation, events_of, of, run_data, run_files_text

from optexity_runner.context import HumanLoop
from optexity_runner.errors import HumanInLoopTimeoutException
from optexity_runner.hitl import HumanLoopService, PauseServices
from optexity_runner.mail import Mailer, SmtpMailer
from optexity_runner.pause import Pause, PauseCoordinator, PauseOutcome
from optexity_runner.result import RunResult
from optexity_runner.run_store import RunStore
from optexity_runner.runner import HumanLoopFactory
from optexity_runner.settings import RunnerSettings
from optexity_runner.tokens import LinkSigner
from schemas import HumanInLoopAction


async def wait_for_line(terminal: Terminal, text: str, timeout: float = 5) -> None:
    """Until the service printed a line containing ``text``."""
    for _ in range(int(timeout / 0.01)):
        if text in terminal.text:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no line with {text!r}:\n{terminal.text}")


Act = Callable[[Pause], Coroutine[Any, Any, None]]


class Person:
    """Acts on each pause as it opens, standing in for someone using the live view."""

    def __init__(self, coordinator: PauseCoordinator, act: Act) -> None:
        self.pauses: list[Pause] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._act = act
        coordinator.on_open(self._opened)

    def _opened(self, pause: Pause) -> None:
        self.pauses.append(pause)
        self._tasks.append(asyncio.create_task(self._act(pause)))

    async def finished(self) -> None:
        await asyncio.gather(*self._tasks)


async def type_password_and_press_done(pause: Pause) -> None:
    page = pause.viewed_page
    assert page is not None
    await page.get_by_label("Password").fill(PASSWORD)
    pause.resolve(PauseOutcome.DONE)


def done_after_line(terminal: Terminal, line: str) -> Act:
    """A person who presses Done once ``line`` has been printed on the terminal."""

    async def act(pause: Pause) -> None:
        await wait_for_line(terminal, line)
        pause.resolve(PauseOutcome.DONE)

    return act


def services(
    settings: RunnerSettings, terminal: Terminal, mailer: Mailer | None = None
) -> PauseServices:
    """The shared parts, as ``hitl_wiring`` builds them (minus the live view server)."""
    return PauseServices(
        coordinator=PauseCoordinator(),
        signer=LinkSigner("test-key"),
        base_url="http://127.0.0.1:9",
        settings=settings,
        mailer=mailer,
        announce=terminal.line,
    )


def factory(shared: PauseServices) -> HumanLoopFactory:
    def build(run_id: str, name: str, store: RunStore) -> HumanLoop:
        return HumanLoopService(shared, run_id, name, store)

    return build


def run_files(result: RunResult) -> list[Path]:
    return list(Path(result.run_dir).iterdir())


def read_eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


# --- outcomes ------------------------------------------------------------------------------


async def test_done_resumes_the_run_which_signs_in(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    terminal = Terminal()
    shared = services(settings, terminal)
    person = Person(shared.coordinator, type_password_and_press_done)
    data = hitl_login(demo_site.base_url, whole=True, max_wait_time=10)
    result = await run_data(data, browser, settings, hitl=factory(shared))
    await person.finished()

    assert result.status == "success", result.error
    assert demo_site.last_login() == {
        "username": "alice", "password_correct": True, "password_length": 21, "succeeded": True
    }  # fmt: skip
    [record] = result.pauses
    assert record.outcome == "done"
    assert record.node_index == "1"
    assert record.pause_id == person.pauses[0].pause_id
    assert record.limit is None
    assert record.waited_seconds is not None
    assert 0 <= record.waited_seconds < 5
    assert record.deadline > record.requested_at
    names = [e["event"] for e in events_of(result)]
    assert names.index("hitl_requested") < names.index("hitl_resolved")
    [resolved] = of(result, "hitl_resolved")
    assert resolved["outcome"] == "done"
    assert resolved["pause_id"] == record.pause_id
    assert resolved["waited_seconds"] == record.waited_seconds


async def test_pause_record_and_request_event_say_when_and_who(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    shared = services(settings, Terminal())
    Person(shared.coordinator, type_password_and_press_done)
    data = hitl_login(demo_site.base_url, max_wait_time=42, notify=["owner@acme.test"])
    before = time.time()
    result = await run_data(data, browser, settings, hitl=factory(shared))
    [requested] = of(result, "hitl_requested")
    [record] = result.pauses
    assert requested["node_index"] == "1"
    assert requested["pause_id"] == record.pause_id
    assert requested["recipients"] == ["owner@acme.test"]
    assert requested["deadline_limit"] == "max_wait_time"
    assert requested["wait_seconds"] == pytest.approx(42, abs=0.01)
    assert requested["deadline"] == record.deadline.isoformat()
    assert before + 42 <= record.deadline.timestamp() <= time.time() + 42
    assert record.recipients == ["owner@acme.test"]
    saved = json.loads((Path(result.run_dir) / "result.json").read_text())
    assert saved["pauses"][0]["outcome"] == "done"


async def test_nobody_pressing_done_fails_the_run_at_max_wait_time(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    shared = services(settings, Terminal())
    t0 = time.perf_counter()
    result = await run_data(hitl_login(demo_site.base_url, max_wait_time=0.4), browser, settings,
                            hitl=factory(shared))  # fmt: skip
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.type == "HumanInLoopTimeoutException"
    assert result.error.limit == "max_wait_time"
    assert result.error.node_index == "1"
    assert "max_wait_time (0.4 s)" in result.error.message
    assert len(result.attempts) == 1, "a timed-out pause is not retried"
    [record] = result.pauses
    assert (record.outcome, record.limit) == ("timed_out", "max_wait_time")
    assert record.waited_seconds == pytest.approx(0.4, abs=0.1)
    assert time.perf_counter() - t0 < 5
    saved = json.loads((Path(result.run_dir) / "result.json").read_text())
    assert saved["error"]["type"] == "HumanInLoopTimeoutException"
    assert saved["error"]["limit"] == "max_wait_time"
    [resolved] = of(result, "hitl_resolved")
    assert (resolved["outcome"], resolved["limit"]) == ("timed_out", "max_wait_time")


async def test_run_time_limit_caps_the_pause_and_is_named(
    browser: Browser, demo_site: Any, tmp_path: Path
) -> None:
    settings = RunnerSettings(out_dir=tmp_path, run_time_limit=1.5, _env_file=None)
    shared = services(settings, Terminal())
    result = await run_data(hitl_login(demo_site.base_url, max_wait_time=60), browser, settings,
                            hitl=factory(shared))  # fmt: skip
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.type == "HumanInLoopTimeoutException"
    assert result.error.limit == "run_time_limit"
    assert "time limit (1.5 s)" in result.error.message
    [record] = result.pauses
    assert (record.outcome, record.limit) == ("timed_out", "run_time_limit")
    [requested] = of(result, "hitl_requested")
    assert requested["deadline_limit"] == "run_time_limit"
    assert requested["wait_seconds"] < 1.5
    assert result.duration_s < 3


async def test_i_cannot_do_this_fails_the_run_with_the_reason(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    shared = services(settings, Terminal())

    async def reject(pause: Pause) -> None:
        pause.resolve(PauseOutcome.REJECTED, "the account is locked")

    Person(shared.coordinator, reject)
    result = await run_data(hitl_login(demo_site.base_url, max_wait_time=10), browser, settings,
                            hitl=factory(shared))  # fmt: skip
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.type == "HumanInLoopRejectedException"
    assert "the account is locked" in result.error.message
    [record] = result.pauses
    assert (record.outcome, record.reason) == ("rejected", "the account is locked")
    [resolved] = of(result, "hitl_resolved")
    assert resolved["reason"] == "the account is locked"
    assert len(result.attempts) == 1, "a refusal is not retried"


async def test_several_pauses_in_a_run_get_their_own_pause_and_link(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    terminal = Terminal()
    shared = services(settings, terminal)

    async def done(pause: Pause) -> None:
        pause.resolve(PauseOutcome.DONE)

    person = Person(shared.coordinator, done)
    nodes = [pause_node(5), pause_node(5, instructions="second"), pause_node(5)]
    data = automation(f"{demo_site.base_url}/login", nodes)
    result = await run_data(data, browser, settings, hitl=factory(shared))
    assert result.status == "success", result.error
    assert [p.node_index for p in result.pauses] == ["0", "1", "2"]
    assert len({p.pause_id for p in result.pauses}) == 3
    assert [p.pause_id for p in person.pauses] == [p.pause_id for p in result.pauses]
    links = terminal.links()
    assert len(links) == 3
    assert len(set(links)) == 3
    emls = sorted(p for p in run_files(result) if p.name.startswith("pause-"))
    assert [p.name for p in emls] == ["pause-1.eml", "pause-2.eml", "pause-3.eml"]
    for path, link in zip(emls, links, strict=True):
        assert link in body_text(read_eml(path))
    assert "second" in body_text(read_eml(emls[1]))


async def test_pause_inside_a_loop_pauses_each_iteration(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    shared = services(settings, Terminal())

    async def done(pause: Pause) -> None:
        pause.resolve(PauseOutcome.DONE)

    Person(shared.coordinator, done)
    loop = {"type": "for_loop_node", "variable_name": "items", "nodes": [pause_node(5)]}
    data = automation(f"{demo_site.base_url}/login", [loop],
                      parameters={"input_parameters": {"items": ["a", "b"]}})  # fmt: skip
    result = await run_data(data, browser, settings, hitl=factory(shared))
    assert result.status == "success", result.error
    assert [p.node_index for p in result.pauses] == ["0.0", "0.0"]
    assert result.pauses[0].pause_id != result.pauses[1].pause_id


# --- notification --------------------------------------------------------------------------


async def test_without_smtp_the_link_is_printed_and_an_eml_written(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    terminal = Terminal()
    shared = services(settings, terminal)
    links_at_open: list[list[str]] = []

    async def done_after_looking(pause: Pause) -> None:
        await asyncio.sleep(0.2)  # long enough for the .eml (a local write)
        links_at_open.append(terminal.links())
        pause.resolve(PauseOutcome.DONE)

    Person(shared.coordinator, done_after_looking)
    data = hitl_login(demo_site.base_url, max_wait_time=10, instructions="Type the password")
    result = await run_data(data, browser, settings, hitl=factory(shared))
    assert result.status == "success", result.error
    [link] = terminal.links()
    assert links_at_open == [[link]], "the link is on the terminal while the pause is open"
    eml = Path(result.run_dir) / "pause-1.eml"
    assert str(eml) in terminal.text
    message = read_eml(eml)
    text = body_text(message)
    assert link in text
    assert "Type the password" in text
    assert f"{demo_site.base_url}/login" in text
    assert "Sign in" in text  # the page title
    assert message.get_body(("html",)) is not None
    [notified] = of(result, "hitl_notified")
    assert notified["channel"] == "eml"
    assert notified["file"] == "pause-1.eml"
    assert result.pauses[0].notified
    assert result.pauses[0].channel == "eml"


async def test_smtp_delivers_one_message_and_keeps_the_link_off_the_terminal(
    browser: Browser, demo_site: Any, tmp_path: Path
) -> None:
    inbox = Inbox()
    terminal = Terminal()
    async with smtp_server(inbox) as port:
        settings = RunnerSettings(
            out_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, mail_from="bot@acme.test",
            notify=["owner@acme.test"], _env_file=None,
        )  # fmt: skip
        shared = services(settings, terminal, SmtpMailer(settings))

        Person(shared.coordinator, done_after_line(terminal, "link mailed"))
        result = await run_data(hitl_login(demo_site.base_url, max_wait_time=10), browser,
                                settings, hitl=factory(shared))  # fmt: skip
    assert result.status == "success", result.error
    assert len(inbox.envelopes) == 1
    assert inbox.envelopes[0].rcpt_tos == ["owner@acme.test"]
    assert LINK_RE.search(body_text(inbox.messages()[0]))
    assert terminal.links() == []
    assert "link mailed to owner@acme.test" in terminal.text
    [notified] = of(result, "hitl_notified")
    assert (notified["channel"], notified["recipients"]) == ("smtp", ["owner@acme.test"])
    assert result.pauses[0].channel == "smtp"
    assert [p for p in run_files(result) if p.suffix == ".eml"] == []
    assert result.pauses[0].notified


async def test_smtp_down_is_recorded_the_link_printed_and_done_still_works(
    browser: Browser, demo_site: Any, tmp_path: Path
) -> None:
    settings = RunnerSettings(
        out_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=closed_port(), _env_file=None
    )
    terminal = Terminal()
    mailer = SmtpMailer(settings, retry_delays=(0.05, 0.1))
    shared = services(settings, terminal, mailer)
    failures_seen: list[int] = []

    async def done_once_the_link_is_printed(pause: Pause) -> None:
        await wait_for_line(terminal, "mail not sent")
        failures_seen.append(len(terminal.links()))
        await type_password_and_press_done(pause)

    Person(shared.coordinator, done_once_the_link_is_printed)
    data = hitl_login(demo_site.base_url, max_wait_time=10, notify=["owner@acme.test"])
    result = await run_data(data, browser, settings, hitl=factory(shared))
    assert failures_seen == [1]
    assert result.status == "success", result.error
    assert demo_site.last_login()["password_correct"] is True
    [failed] = of(result, "hitl_notification_failed")
    assert failed["tries"] == 3
    assert "Connect" in failed["error"] or "refused" in failed["error"].lower()
    assert of(result, "hitl_notified") == []
    assert "mail not sent" in terminal.text
    assert not result.pauses[0].notified
    assert result.pauses[0].outcome == "done"


class BrokenMailer:
    """A mailer that fails with something other than ``MailDeliveryError`` (a defect)."""

    async def send(self, message: EmailMessage) -> None:
        raise ValueError("Header values may not contain linefeed or carriage return characters")


async def test_an_unexpected_notification_error_is_recorded_and_the_link_printed(
    browser: Browser, demo_site: Any, tmp_path: Path
) -> None:
    settings = RunnerSettings(out_dir=tmp_path, _env_file=None)
    terminal = Terminal()
    shared = services(settings, terminal, BrokenMailer())

    async def done_once_the_link_is_printed(pause: Pause) -> None:
        await wait_for_line(terminal, "open the live view")
        await type_password_and_press_done(pause)

    Person(shared.coordinator, done_once_the_link_is_printed)
    data = hitl_login(demo_site.base_url, max_wait_time=10, notify=["owner@acme.test"])
    result = await run_data(data, browser, settings, hitl=factory(shared))
    assert result.status == "success", result.error
    [failed] = of(result, "hitl_notification_failed")
    assert failed["channel"] == "smtp"
    assert failed["error"].startswith("ValueError: Header values may not contain linefeed")
    assert len(terminal.links()) == 1
    assert "mail not sent (ValueError" in terminal.text
    assert not result.pauses[0].notified


class StallingInbox(Inbox):
    """An SMTP server that takes the message and never answers."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(30)
        return "250 OK"


async def test_a_slow_smtp_server_never_delays_the_deadline(
    browser: Browser, demo_site: Any, tmp_path: Path
) -> None:
    async with smtp_server(StallingInbox()) as port:
        settings = RunnerSettings(
            out_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, notify=["o@acme.test"],
            _env_file=None,
        )  # fmt: skip
        shared = services(settings, Terminal(), SmtpMailer(settings))
        result = await run_data(hitl_login(demo_site.base_url, max_wait_time=0.5), browser,
                                settings, hitl=factory(shared))  # fmt: skip
    assert result.error is not None
    assert result.error.type == "HumanInLoopTimeoutException"
    [record] = result.pauses
    assert record.waited_seconds == pytest.approx(0.5, abs=0.15)
    [failed] = of(result, "hitl_notification_failed")
    assert "pause ended" in failed["error"]
    assert result.duration_s < 3, "giving up on the mail does not hold the run either"


async def test_no_secret_reaches_events_result_or_mail(
    browser: Browser, demo_site: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "hunter2-very-secret-value"
    monkeypatch.setenv("HITL_TEST_SECRET", secret)
    inbox = Inbox()
    terminal = Terminal()
    async with smtp_server(inbox) as port:
        settings = RunnerSettings(
            out_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, notify=["o@acme.test"],
            _env_file=None,
        )  # fmt: skip
        shared = services(settings, terminal, SmtpMailer(settings))

        Person(shared.coordinator, done_after_line(terminal, "link mailed"))
        goto = {"go_to_url": {"url": f"{demo_site.base_url}/login?code={{pw[0]}}"}}
        data = automation(
            f"{demo_site.base_url}/login",
            [{"type": "action_node", "interaction_action": goto, "end_sleep_time": 0},
             pause_node(5, instructions="Check the page")],
            parameters={"secure_parameters": {"pw": [{"env": "HITL_TEST_SECRET"}]}},
        )  # fmt: skip
        result = await run_data(data, browser, settings, hitl=factory(shared))
    assert result.status == "success", result.error
    raw = inbox.envelopes[0].original_content or b""
    mail_text = body_text(inbox.messages()[0])
    assert secret not in raw.decode()
    assert secret not in mail_text
    assert "/login?code=[secret]" in mail_text, "the page URL is in the mail, redacted"
    files = run_files_text(result)
    assert secret not in files
    # The link is a bearer credential: in the mail, never in the run folder.
    match = LINK_RE.search(mail_text)
    assert match is not None
    assert match.group(1) not in files
    assert match.group(0) not in files


# --- the service on its own: cancellation, races ---------------------------------------------


async def test_a_cancelled_wait_is_recorded_as_cancelled(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    step = await new_step(browser, settings, f"{demo_site.base_url}/login")
    shared = services(settings, Terminal())
    service = HumanLoopService(shared, step.run.run_id, "test", step.run.store)
    opened: list[Pause] = []
    shared.coordinator.on_open(opened.append)
    waiting = asyncio.create_task(service.pause(step, HumanInLoopAction(max_wait_time=30)))
    await asyncio.sleep(0.2)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    [record] = step.run.state.pauses
    assert record.outcome == "cancelled"
    assert opened[0].resolution is not None
    assert opened[0].resolution.outcome is PauseOutcome.CANCELLED
    assert step.run.tabs.interceptor is None, "the page is handed back to the automation"
    step.run.store.close()
    await step.run.tabs.context.close()


async def test_done_racing_the_deadline_ends_in_exactly_one_outcome(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    step = await new_step(browser, settings, f"{demo_site.base_url}/login")
    shared = services(settings, Terminal())
    service = HumanLoopService(shared, step.run.run_id, "test", step.run.store)
    answers: list[PauseOutcome] = []

    def press_done_near_the_deadline(pause: Pause) -> None:
        loop = asyncio.get_running_loop()
        delay = pause.seconds_left() + (len(answers) % 5 - 2) * 0.001

        def press() -> None:
            answers.append(pause.resolve(PauseOutcome.DONE).outcome)

        loop.call_later(max(0.0, delay), press)

    shared.coordinator.on_open(press_done_near_the_deadline)
    raised: list[str] = []
    for _ in range(50):
        try:
            await service.pause(step, HumanInLoopAction(max_wait_time=0.003))
            raised.append("done")
        except HumanInLoopTimeoutException:
            raised.append("timed_out")
        await asyncio.sleep(0.01)  # let the late presses land
    records = step.run.state.pauses
    assert len(records) == 50
    assert [r.outcome for r in records] == raised
    assert [a.value for a in answers] == raised, "the loser gets the recorded outcome back"
    resolved = [e for e in _events(step.run.store) if e["event"] == "hitl_resolved"]
    assert [e["outcome"] for e in resolved] == raised
    step.run.store.close()
    await step.run.tabs.context.close()


def _events(store: RunStore) -> list[dict[str, Any]]:
    lines = (store.dir / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


async def test_the_run_continues_on_the_tab_the_person_was_viewing(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    step = await new_step(browser, settings, f"{demo_site.base_url}/login")
    first = step.run.tabs.current
    shared = services(settings, Terminal())
    service = HumanLoopService(shared, step.run.run_id, "test", step.run.store)

    async def open_a_tab_then_go_back(pause: Pause) -> None:
        popup = await first.context.new_page()  # the page opened a tab during the pause
        assert pause.viewed_page is popup, "the view follows the new tab"
        pause.viewed_page = first  # the person switched back in the view
        pause.resolve(PauseOutcome.DONE)

    person = Person(shared.coordinator, open_a_tab_then_go_back)
    await service.pause(step, HumanInLoopAction(max_wait_time=10))
    await person.finished()
    assert len(step.run.tabs.pages) == 2
    assert step.run.tabs.current is first
    step.run.store.close()
    await step.run.tabs.context.close()
