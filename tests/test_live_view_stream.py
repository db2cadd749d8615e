"""The live view end to end: real Chromium streaming to a second browser acting as the person."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, CDPSession, Page, WebSocketRoute
from playwright.async_api import Error as PlaywrightError
from support.live import LiveRig, click_through_view, eventually, live_rig, until_js, ws_connect

from optexity_runner.pause import PauseOutcome

BUTTON_PAGE = """
<title>Approve</title>
<style>body { margin: 0; font: 16px sans-serif; } #approve { position: absolute;
  left: 900px; top: 500px; width: 160px; height: 48px; }</style>
<p id="result">waiting</p>
<button id="approve" onclick="result.textContent = 'approved ' + event.detail">Approve</button>
"""


async def text_of(page: Page, selector: str) -> str:
    return await page.locator(selector).inner_text()


async def bare_viewer(rig: LiveRig) -> Page:
    """A person's page that has opened nothing yet (``rig.open_viewer`` waits for a frame)."""
    context = await rig.browser.new_context()
    rig.contexts.append(context)
    return await context.new_page()


class CdpFaults:
    """Makes the named CDP commands fail once each (``PlaywrightError``), and counts detaches."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *methods: str) -> None:
        self.pending = list(methods)
        self.detached = 0
        send, detach = CDPSession.send, CDPSession.detach

        async def failing_send(
            session: CDPSession, method: str, params: dict[str, Any] | None = None
        ) -> dict[str, Any]:
            if method in self.pending:
                self.pending.remove(method)
                raise PlaywrightError(f"injected fault in {method}")
            return await send(session, method, params)

        async def counted_detach(session: CDPSession) -> None:
            self.detached += 1
            await detach(session)

        monkeypatch.setattr(CDPSession, "send", failing_send)
        monkeypatch.setattr(CDPSession, "detach", counted_detach)


async def test_screencast_runs_only_while_a_viewer_is_connected(
    rig: LiveRig, demo_site: Any
) -> None:
    run = await rig.open_pause(url=demo_site.base_url + "/animated")
    await asyncio.sleep(0.2)
    assert rig.hub(run) is None  # nobody watching: no CDP session, no frames

    viewer = await ws_connect(rig, run.token)
    first, _ = await viewer.next_frame()
    second, _ = await viewer.next_frame()
    assert second["seq"] > first["seq"]
    hub = rig.hub(run)
    assert hub is not None
    assert hub.streaming

    await viewer.connection.close()
    await eventually(lambda: not hub.streaming)
    stopped_at = hub.frames_received
    await asyncio.sleep(0.5)  # the page keeps animating
    assert hub.frames_received == stopped_at
    assert hub.viewer_count == 0


async def test_screencast_that_failed_to_start_is_started_again(
    rig: LiveRig, demo_site: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = CdpFaults(monkeypatch, "Page.startScreencast")
    run = await rig.open_pause(url=demo_site.base_url + "/animated")
    viewer = await ws_connect(rig, run.token)
    await viewer.next_frame()
    assert faults.pending == []  # the first start did fail
    assert faults.detached == 1  # and its CDP session was let go
    hub = rig.hub(run)
    assert hub is not None
    assert hub.streaming
    await viewer.connection.close()


async def test_cdp_session_is_detached_even_when_the_stop_fails(
    rig: LiveRig, demo_site: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = await rig.open_pause(url=demo_site.base_url + "/animated")
    viewer = await ws_connect(rig, run.token)
    await viewer.next_frame()
    faults = CdpFaults(monkeypatch, "Page.stopScreencast")
    await viewer.connection.close()
    hub = rig.hub(run)
    assert hub is not None
    await eventually(lambda: not hub.streaming)
    assert faults.pending == []
    await eventually(lambda: faults.detached == 1)

    again = await ws_connect(rig, run.token)  # and the next viewer streams as before
    await again.next_frame()
    assert hub.streaming
    await again.connection.close()


async def test_late_viewer_of_a_static_page_gets_the_last_frame(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<h1>Nothing moves here</h1>")
    early = await ws_connect(rig, run.token)
    header, jpeg = await early.next_frame()
    assert jpeg.startswith(b"\xff\xd8")  # a JPEG
    assert (header["deviceWidth"], header["deviceHeight"]) == (1280, 720)

    late = await ws_connect(rig, run.token)
    assert (await late.next_json())["type"] == "hello"  # always first
    late_header, late_jpeg = await late.next_frame(timeout=1.0)
    assert late_header["seq"] == header["seq"]  # the kept frame, not a new one
    assert late_jpeg == jpeg
    await early.connection.close()
    await late.connection.close()


async def test_frame_size_follows_the_viewer(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<h1>Sized</h1>")
    viewer = await ws_connect(rig, run.token)
    await viewer.next_frame()
    await viewer.send({"type": "resize", "width": 320, "height": 320})
    header, jpeg = await viewer.next_frame()
    # JPEG width/height from the SOF0 marker: the frame was scaled to fit 320 px.
    start = jpeg.index(b"\xff\xc0")
    height, width = (
        int.from_bytes(jpeg[start + 5 : start + 7]),
        int.from_bytes(jpeg[start + 7 : start + 9]),
    )
    assert width <= 320
    assert height <= 180
    assert header["deviceWidth"] == 1280  # the metadata still speaks page pixels
    await viewer.connection.close()


async def test_frames_above_the_fps_cap_are_not_sent(
    browser: Browser, tmp_path: Path, demo_site: Any
) -> None:
    async with live_rig(browser, tmp_path, screencast_max_fps=5) as rig:
        run = await rig.open_pause(url=demo_site.base_url + "/animated")
        viewer = await ws_connect(rig, run.token)
        await viewer.next_frame()
        loop = asyncio.get_running_loop()
        started, sent = loop.time(), 0
        while loop.time() - started < 1.0:
            await viewer.next_frame()
            sent += 1
        hub = rig.hub(run)
        assert hub is not None
        assert sent <= 7
        # Acks are paced to the cap, so Chromium does not capture frames that would be dropped.
        assert hub.frames_received <= hub.frames_handed_on + 3
        await viewer.connection.close()


async def test_click_on_the_picture_lands_on_the_element(rig: LiveRig) -> None:
    run = await rig.open_pause(html=BUTTON_PAGE)
    viewer = await rig.open_viewer(run.link, width=900, height=700)
    picture = await viewer.locator("#picture").bounding_box()
    assert picture is not None
    assert picture["width"] < 1000  # shown smaller than the page: scale != 1
    await click_through_view(viewer, run.page, "#approve")

    async def approved() -> bool:
        return await text_of(run.page, "#result") == "approved 1"  # one click, at the button

    await eventually(approved)
    await eventually(lambda: (run.pause.pause_id, "connected") in rig.viewer_events)


async def test_tap_on_a_phone_is_a_click(rig: LiveRig) -> None:
    run = await rig.open_pause(html=BUTTON_PAGE)
    viewer = await rig.open_viewer(
        run.link, width=390, height=844, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    target = await run.page.locator("#approve").bounding_box()
    picture = await viewer.locator("#picture").bounding_box()
    assert target is not None
    assert picture is not None
    assert picture["width"] <= 390
    scale = picture["width"] / 1280
    await viewer.touchscreen.tap(
        picture["x"] + (target["x"] + target["width"] / 2) * scale,
        picture["y"] + (target["y"] + target["height"] / 2) * scale,
    )

    async def approved() -> bool:
        return (await text_of(run.page, "#result")).startswith("approved")

    await eventually(approved)
    assert await viewer.locator("#keyboard").is_visible()


async def test_phone_keyboard_button_types_into_the_page(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<input id='code' autocomplete='one-time-code'>")
    await run.page.focus("#code")
    viewer = await rig.open_viewer(
        run.link, width=390, height=844, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    await viewer.get_by_role("button", name="Keyboard").tap()
    assert await viewer.evaluate("document.activeElement.id") == "keyboard-input"
    await viewer.keyboard.type("1234567")
    await viewer.keyboard.press("Backspace")
    await eventually(
        lambda: run.page.evaluate("document.querySelector('#code').value === '123456'")
    )


async def test_typing_through_the_view_signs_in(rig: LiveRig, demo_site: Any) -> None:
    run = await rig.open_pause(url=demo_site.base_url + "/login")
    viewer = await rig.open_viewer(run.link, width=1000, height=760)
    await click_through_view(viewer, run.page, "#username")
    await eventually(
        lambda: run.page.evaluate(
            "document.activeElement && document.activeElement.id === 'username'"
        )
    )
    await viewer.keyboard.type("alice")
    await viewer.keyboard.press("Tab")
    await viewer.keyboard.type("correct horse battery")
    await eventually(
        lambda: run.page.evaluate("document.querySelector('#password').value.length === 21")
    )
    assert await run.page.input_value("#username") == "alice"
    seq = await viewer.evaluate("window.liveView.frame.seq")
    await viewer.keyboard.press("Enter")
    await eventually(lambda: demo_site.last_login() is not None)
    login = demo_site.last_login()
    assert login["username"] == "alice"
    assert login["password_correct"] is True
    # The stream goes on across the navigation, and the tab list follows the new page.
    await until_js(viewer, f"window.liveView.frame.seq > {seq}")
    await until_js(viewer, "window.liveView.state.tabs[0].url.endsWith('/dashboard')")


async def test_paste_and_text_reach_the_focused_field(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<input id='code' autofocus>")
    await run.page.focus("#code")
    viewer = await ws_connect(rig, run.token)
    await viewer.next_frame()
    await viewer.send({"type": "paste", "text": "12"})
    await viewer.send({"type": "text", "text": "3456"})
    await eventually(
        lambda: run.page.evaluate("document.querySelector('#code').value === '123456'")
    )
    await viewer.connection.close()


async def test_popup_opened_during_the_pause_is_followed(rig: LiveRig, demo_site: Any) -> None:
    run = await rig.open_pause(url=demo_site.base_url + "/reports")
    viewer = await rig.open_viewer(run.link)
    await run.page.click("#open-preview")
    await until_js(viewer, "window.liveView.state.tabs.length === 2")
    await until_js(viewer, "window.liveView.frame.tab === 1")
    popup = run.tabs.open_pages()[1]
    assert run.pause.viewed_page is popup
    await popup.wait_for_load_state()
    await eventually(lambda: viewer.locator(".tab[aria-selected=true]").count())
    selected = viewer.locator(".tab[aria-selected=true]")
    await until_js(
        viewer, "document.querySelector('.tab[aria-selected=true]').textContent.includes('preview')"
    )
    assert "preview" in (await selected.inner_text()).lower()

    # The person goes back to the first tab; the run would continue there.
    await viewer.locator(".tab").first.click()
    await until_js(viewer, "window.liveView.frame.tab === 0")
    assert run.pause.viewed_page is run.page


async def test_closing_the_viewed_tab_falls_back_to_the_run_tab(
    rig: LiveRig, demo_site: Any, caplog: pytest.LogCaptureFixture
) -> None:
    run = await rig.open_pause(url=demo_site.base_url + "/reports")
    viewer = await rig.open_viewer(run.link)
    await run.page.click("#open-preview")
    await until_js(viewer, "window.liveView.frame.tab === 1")
    popup = run.tabs.open_pages()[1]
    await popup.close()  # pending frame acks on it fail: expected, not an error
    await until_js(viewer, "window.liveView.state.tabs.length === 1")
    seq = await viewer.evaluate("window.liveView.frame.seq")
    await run.page.evaluate("document.body.style.background = 'rgb(255, 240, 200)'")
    await until_js(viewer, f"window.liveView.frame.seq > {seq} && window.liveView.frame.tab === 0")
    assert run.pause.viewed_page is run.page
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_confirm_is_answered_from_the_view(rig: LiveRig, demo_site: Any) -> None:
    run = await rig.open_pause(url=demo_site.base_url + "/dialogs")
    viewer = await rig.open_viewer(run.link, width=1100, height=800)
    await click_through_view(viewer, run.page, "#confirm-button")
    card = viewer.locator(".request")
    await card.wait_for()
    assert "Delete the draft claim?" in await card.inner_text()
    assert len(run.pause.dialogs) == 1
    await card.get_by_role("button", name="OK").click()
    await eventually(lambda: not run.pause.dialogs)
    await eventually(
        lambda: run.page.evaluate(
            "document.querySelector('#confirm-result').textContent === 'Confirmed: true'"
        )
    )
    await card.wait_for(state="detached")


async def test_prompt_and_alert_are_answered_from_the_view(rig: LiveRig, demo_site: Any) -> None:
    run = await rig.open_pause(url=demo_site.base_url + "/dialogs")
    viewer = await rig.open_viewer(run.link, width=1100, height=800)
    await click_through_view(viewer, run.page, "#prompt-button")
    card = viewer.locator(".request")
    await card.wait_for()
    assert "Why is this claim urgent?" in await card.inner_text()
    await card.get_by_label("Your answer").fill("Flood damage, 'today'")
    await card.get_by_role("button", name="OK").click()
    await eventually(
        lambda: run.page.evaluate(
            "document.querySelector('#prompt-result').textContent"
            " === \"Answer: Flood damage, 'today'\""
        )
    )
    await card.wait_for(state="detached")
    await click_through_view(viewer, run.page, "#alert-button")
    await card.wait_for()
    assert "Claim CLM-1001 was saved." in await card.inner_text()
    assert await card.get_by_role("button", name="Cancel").count() == 0  # an alert has only OK
    await card.get_by_role("button", name="OK").click()
    await eventually(
        lambda: run.page.evaluate(
            "document.querySelector('#alert-result').textContent === 'Alert closed'"
        )
    )
    assert not run.pause.dialogs


async def test_file_chooser_is_answered_from_the_view(
    rig: LiveRig, demo_site: Any, tmp_path: Path
) -> None:
    run = await rig.open_pause(url=demo_site.base_url + "/dialogs")
    viewer = await rig.open_viewer(run.link, width=1100, height=800)
    await click_through_view(viewer, run.page, "#document")
    upload = viewer.locator(".request input[type=file]")
    await upload.wait_for()
    document = tmp_path / "receipt.txt"
    document.write_text("claim receipt 42", encoding="utf-8")
    await upload.set_input_files(document)
    await viewer.locator(".request").get_by_role("button", name="Upload", exact=True).click()
    await eventually(
        lambda: run.page.evaluate(
            "document.querySelector('#document-name').textContent === 'receipt.txt'"
        )
    )
    # The page holds the content itself: it can still be read (or submitted) later.
    content = await run.page.evaluate("document.querySelector('#document').files[0].text()")
    assert content == "claim receipt 42"
    assert run.pause.file_choosers == {}


async def test_token_leaves_the_address_bar_and_reconnects_still_work(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<h1>Ready</h1>")
    viewer = await bare_viewer(rig)
    routes: list[WebSocketRoute] = []

    def through_proxy(route: WebSocketRoute) -> None:
        route.connect_to_server()
        routes.append(route)

    await viewer.route_web_socket("**/ws", through_proxy)
    await viewer.goto(run.link)
    await until_js(viewer, "window.liveView && window.liveView.frame !== null")
    assert viewer.url == rig.base_url + "/live"  # nor in history: the entry was replaced

    await routes[0].close(code=1011, reason="network dropped")  # the connection breaks
    await eventually(lambda: len(routes) == 2, timeout=5)
    await until_js(viewer, "document.querySelector('#connection').dataset.state === 'live'")
    await eventually(lambda: rig.viewer_events.count((run.pause.pause_id, "connected")) == 2)
    assert run.pause.is_open
    await viewer.get_by_role("button", name="Done").click()  # the token is still held
    await viewer.locator("#ended").wait_for()
    assert run.pause.resolution is not None
    assert run.pause.resolution.outcome is PauseOutcome.DONE


async def test_malformed_link_says_it_is_not_valid(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<h1>Ready</h1>")
    viewer = await bare_viewer(rig)
    errors: list[str] = []
    viewer.on("pageerror", lambda error: errors.append(str(error)))
    await viewer.goto(rig.base_url + "/live#" + run.token[:10] + "%E0%A4%A")  # a cut %XX
    await viewer.locator("#ended").wait_for()
    assert await viewer.locator("#ended-title").inner_text() == "This link does not work"
    assert (await viewer.locator("#ended-message").inner_text()).startswith(
        "This link is not valid."
    )
    assert viewer.url == rig.base_url + "/live"
    assert errors == []
    assert rig.viewer_events == []


async def test_done_in_the_view_resolves_and_a_reload_says_why(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<h1>Ready</h1>")
    viewer = await rig.open_viewer(run.link)
    await viewer.get_by_role("button", name="Done").click()
    await viewer.locator("#ended").wait_for()
    assert run.pause.resolution is not None
    assert run.pause.resolution.outcome is PauseOutcome.DONE
    assert "continuing" in await viewer.locator("#ended-title").inner_text()

    await viewer.reload()
    await viewer.locator("#ended").wait_for()
    message = await viewer.locator("#ended-message").inner_text()
    assert message.startswith("This pause has ended: the person pressed Done at ")


async def test_cant_do_this_asks_for_a_reason_in_the_page(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<h1>Ready</h1>")
    viewer = await rig.open_viewer(run.link)
    await viewer.get_by_role("button", name="I can’t do this").click()
    dialog = viewer.locator("#reject-dialog")
    await dialog.get_by_label("Reason").fill("The one-time code never arrived")
    await dialog.get_by_role("button", name="Stop the automation").click()
    await viewer.locator("#ended").wait_for()
    assert run.pause.resolution is not None
    assert run.pause.resolution.outcome is PauseOutcome.REJECTED
    assert run.pause.resolution.reason == "The one-time code never arrived"


async def test_view_shows_the_expiry(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<h1>Ready</h1>", max_wait_time=1.5)
    viewer = await rig.open_viewer(run.link)
    await viewer.locator("#ended").wait_for(timeout=4000)
    assert await viewer.locator("#ended-title").inner_text() == "This pause has expired"
    assert "expired at" in await viewer.locator("#ended-message").inner_text()
