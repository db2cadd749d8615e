"""End to end: the mail arrives, a second browser opens its link and signs in through the view.

The run is ``examples/hitl_login.json`` wired as the CLI wires it. aiosmtpd on loopback takes
the one message; a second Chromium context, acting as the person, opens the link from it,
clicks (or taps) the Password field on the streamed picture, types the password as keys,
presses Done; the demo site then confirms the right password arrived.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from support.hitl import LINK_RE, PASSWORD, LiveRun, hitl_login, live_run
from support.mail import Inbox, body_text, smtp_server
from support.runs import of, run_files_text

from optexity_runner.settings import RunnerSettings

DESKTOP: dict[str, Any] = {"viewport": {"width": 1100, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}


@asynccontextmanager
async def person_viewing(
    browser: Browser, link: str, options: dict[str, Any] = DESKTOP
) -> AsyncIterator[Page]:
    """A second browser context, acting as the person, with the link open in a tab."""
    person = await browser.new_context(**options)
    try:
        viewer = await person.new_page()
        await viewer.goto(link)
        yield viewer
    finally:
        await person.close()


async def password_field_on_picture(run: LiveRun, viewer: Page) -> tuple[float, float]:
    """Where the run's Password field is on the viewer's picture, in viewer CSS pixels.

    The picture shows the run's whole viewport scaled to the canvas, so the field's page
    position maps proportionally (the scale is not 1 on either viewer).
    """
    page = run.pauses[0].viewed_page
    assert page is not None
    field = await page.get_by_label("Password").bounding_box()
    canvas = await viewer.locator("#picture").bounding_box()
    size = page.viewport_size
    assert field is not None
    assert canvas is not None
    assert size is not None
    scale = canvas["width"] / size["width"]
    assert scale != pytest.approx(1.0), "the mapping is exercised at a scale other than 1"
    return (
        canvas["x"] + (field["x"] + field["width"] / 2) * scale,
        canvas["y"] + (field["y"] + field["height"] / 2) * scale,
    )


async def sign_in_through_the_live_view(
    browser: Browser, demo_site: Any, tmp_path: Path, viewer_options: dict[str, Any]
) -> None:
    inbox = Inbox()
    async with smtp_server(inbox) as port:
        settings = RunnerSettings(
            out_dir=tmp_path / "runs", smtp_host="127.0.0.1", smtp_port=port,
            mail_from="runner@acme.test", notify=["owner@acme.test"], _env_file=None,
        )  # fmt: skip
        data = hitl_login(demo_site.base_url, whole=True, max_wait_time=30)
        async with live_run(data, browser, settings) as run:
            await inbox.arrived.wait()
            match = LINK_RE.search(body_text(inbox.messages()[0]))
            assert match is not None
            link = match.group(0)
            async with person_viewing(browser, link, viewer_options) as viewer:
                await expect(viewer.locator("#automation-name")).to_contain_text("Acme")
                await expect(viewer.locator("#screen")).not_to_have_class(re.compile("waiting"))
                x, y = await password_field_on_picture(run, viewer)
                if viewer_options.get("has_touch"):
                    await viewer.touchscreen.tap(x, y)
                    await viewer.locator("#keyboard").tap()  # raises the phone keyboard
                else:
                    await viewer.mouse.click(x, y)
                await viewer.keyboard.type(PASSWORD)
                run_page = run.pauses[0].viewed_page
                assert run_page is not None
                await expect(run_page.get_by_label("Password")).to_have_value(PASSWORD)
                done = viewer.locator("#done")
                await (done.tap() if viewer_options.get("has_touch") else done.click())
                await expect(viewer.locator("#ended")).to_be_visible()
                result = await run.result()
    assert len(inbox.envelopes) == 1
    assert result.status == "success", result.error
    login = demo_site.last_login()
    assert login is not None
    assert login["password_correct"] is True
    assert login["succeeded"] is True
    [record] = result.pauses
    assert (record.outcome, record.notified) == ("done", True)
    assert len(of(result, "hitl_viewer_connected")) >= 1
    files = run_files_text(result)
    assert link.partition("#")[2] not in files
    assert PASSWORD not in files, "what the person typed is not recorded"


async def test_person_signs_in_through_the_live_view_from_the_mailed_link(
    browser: Browser, demo_site: Any, tmp_path: Path
) -> None:
    await sign_in_through_the_live_view(browser, demo_site, tmp_path, DESKTOP)


async def test_person_signs_in_on_a_phone_sized_viewer(
    browser: Browser, demo_site: Any, tmp_path: Path
) -> None:
    await sign_in_through_the_live_view(browser, demo_site, tmp_path, PHONE)


async def test_an_open_view_says_when_the_pause_expired(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    data = hitl_login(demo_site.base_url, max_wait_time=1.5)
    async with live_run(data, browser, settings) as run:
        link = await run.terminal.link()
        async with person_viewing(browser, link) as viewer:
            await expect(viewer.locator("#screen")).not_to_have_class(re.compile("waiting"))
            result = await run.result()
            await expect(viewer.locator("#ended")).to_be_visible(timeout=10_000)
            await expect(viewer.locator("#ended-title")).to_contain_text("expired")
            late = await viewer.context.new_page()
            await late.goto(link)
            await expect(late.locator("#ended")).to_be_visible()
            await expect(late.locator("#ended-message")).to_contain_text("expired")
    assert result.error is not None
    assert result.error.type == "HumanInLoopTimeoutException"


async def test_i_cannot_do_this_from_the_view_fails_the_run_with_the_reason(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    data = hitl_login(demo_site.base_url, max_wait_time=30)
    async with live_run(data, browser, settings) as run:
        link = await run.terminal.link()
        async with person_viewing(browser, link) as viewer:
            await viewer.locator("#reject").click()
            await viewer.locator("#reject-reason").fill("I do not know the password")
            await viewer.locator("#reject-send").click()
            await expect(viewer.locator("#ended")).to_be_visible()
            result = await run.result()
    assert result.error is not None
    assert result.error.type == "HumanInLoopRejectedException"
    assert "I do not know the password" in result.error.message
    assert result.pauses[0].reason == "I do not know the password"


async def test_done_pressed_in_two_viewer_tabs_records_one_outcome(
    browser: Browser, demo_site: Any, settings: RunnerSettings
) -> None:
    data = hitl_login(demo_site.base_url, max_wait_time=30)
    async with live_run(data, browser, settings) as run:
        link = await run.terminal.link()
        person = await browser.new_context(**DESKTOP)
        try:
            tabs = [await person.new_page(), await person.new_page()]
            for tab in tabs:
                await tab.goto(link)
                await expect(tab.locator("#screen")).not_to_have_class(re.compile("waiting"))
            # Both at once, without waiting for the button to stay visible: once one Done
            # wins, the other tab is told the pause ended and hides its button.
            press = "document.getElementById('done').click()"
            await asyncio.gather(*(tab.evaluate(press) for tab in tabs))
            for tab in tabs:
                await expect(tab.locator("#ended")).to_be_visible()
                await expect(tab.locator("#ended-message")).to_contain_text("pressed Done")
            result = await run.result()
        finally:
            await person.close()
    assert len(result.pauses) == 1
    assert result.pauses[0].outcome == "done"
    assert [e["outcome"] for e in of(result, "hitl_resolved")] == ["done"]
