"""Page-level sub-actions of ``interaction_action`` in real Chromium: navigation, tabs,
scrolling, keys, saving a URL as PDF, and ``expect_new_tab``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.net import closed_port, fetch
from support.runs import ObservingBrowser, events_of, failed_cause, node, run_nodes

from optexity_runner import interpreter
from optexity_runner.settings import RunnerSettings


def urls(observed: ObservingBrowser) -> list[str]:
    """The paths of the open tabs at the end of the last run, in opening order."""
    return ["/" + p.url.split("/", 3)[3] for p in observed.pages]


def go(url: str, new_tab: bool = False, **extra: Any) -> dict[str, Any]:
    return node("go_to_url", {"url": url, "new_tab": new_tab}, **extra)


def type_into(label: str, text: str) -> dict[str, Any]:
    return node("input_text", {"command": f'get_by_label("{label}")', "input_text": text})


# --- go_to_url, go_back ------------------------------------------------------------------


async def test_go_to_url_in_the_same_tab(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/login", go("/help"))
    assert result.status == "success", result.error
    assert urls(observed) == ["/help"]


async def test_go_to_url_new_tab_opens_a_tab_and_later_commands_use_it(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [go("/keys", new_tab=True), type_into("Key input", "abc")]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/login", *nodes)
    assert result.status == "success", result.error
    assert urls(observed) == ["/login", "/keys"]
    assert observed.pages[1].values["key-input"] == "abc"
    assert observed.pages[0].values["username"] == ""


async def test_go_to_url_navigation_error_fails_the_step(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/nothing"
    result = await run_nodes(
        observed, settings, f"{demo_site.base_url}/login", go(url), go("/help")
    )
    cause = failed_cause(result)
    assert "node 0 (go_to_url " + url in cause
    assert "ERR_CONNECTION_REFUSED" in cause
    assert result.error is not None
    assert result.error.node_index == "0"
    assert [n.status for n in result.nodes] == ["failed"]


async def test_go_back(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [go("/help"), node("go_back", {})]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/login", *nodes)
    assert result.status == "success", result.error
    assert urls(observed) == ["/login"]


# --- tabs --------------------------------------------------------------------------------


async def test_switch_tab_makes_commands_apply_to_that_tab(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [
        go("/keys", new_tab=True),
        node("switch_tab", {"tab_index": 0}),
        type_into("Username", "bob"),
    ]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/login", *nodes)
    assert result.status == "success", result.error
    assert observed.pages[0].values["username"] == "bob"
    assert observed.pages[1].values["key-input"] == ""


async def test_switch_tab_out_of_range_fails(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    result = await run_nodes(
        observed, settings, f"{demo_site.base_url}/login", node("switch_tab", {"tab_index": 3})
    )
    assert "tab_index 3 but 1 tab(s) open" in failed_cause(result)


async def test_close_current_tab_never_closes_the_last_one(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [node("close_current_tab", {}), type_into("Username", "still here")]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/login", *nodes)
    assert result.status == "success", result.error
    assert observed.page.values["username"] == "still here"
    warnings = [e for e in events_of(result) if e["event"] == "warning"]
    assert [w["node_index"] for w in warnings] == ["0"]


async def test_close_current_tab_returns_to_the_previous_tab(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [
        go("/keys", new_tab=True),
        node("close_current_tab", {}),
        type_into("Username", "back"),
    ]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/login", *nodes)
    assert result.status == "success", result.error
    assert urls(observed) == ["/login"]
    assert observed.page.values["username"] == "back"


async def test_close_all_but_last_tab(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [
        go("/help", new_tab=True),
        go("/keys", new_tab=True),
        node("switch_tab", {"tab_index": 0}),
        node("close_all_but_last_tab", {}),
        type_into("Key input", "last"),
    ]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/login", *nodes)
    assert result.status == "success", result.error
    assert urls(observed) == ["/keys"]
    assert observed.page.values["key-input"] == "last"


async def test_close_all_but_last_tab_with_one_tab(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [node("close_all_but_last_tab", {}), type_into("Username", "x")]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/login", *nodes)
    assert result.status == "success", result.error
    assert urls(observed) == ["/login"]


FOUR_TABS = [go("/help", new_tab=True), go("/keys", new_tab=True), go("/scroll", new_tab=True)]


@pytest.mark.parametrize(
    ("until", "left"),
    [
        ({"matching_url": "/help"}, ["/login", "/help"]),
        ({"matching_url": "/scroll"}, ["/login", "/help", "/keys", "/scroll"]),
        ({"tab_index": 0}, ["/login"]),
        ({"tab_index": 2}, ["/login", "/help", "/keys"]),
        ({"tab_index": 9}, ["/login", "/help", "/keys", "/scroll"]),
    ],
)
async def test_close_tabs_until(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    demo_site: Any,
    until: dict[str, Any],
    left: list[str],
) -> None:
    nodes = [*FOUR_TABS, node("close_tabs_until", until), go("/claims/new")]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/login", *nodes)
    assert result.status == "success", result.error
    # The last remaining tab became current: the final go_to_url navigated it.
    assert urls(observed) == [*left[:-1], "/claims/new"]


async def test_close_tabs_until_without_a_match_fails_and_closes_nothing(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [*FOUR_TABS, node("close_tabs_until", {"matching_url": "/nowhere"})]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/login", *nodes)
    assert "no tab URL contains '/nowhere'" in failed_cause(result)
    assert urls(observed) == ["/login", "/help", "/keys", "/scroll"]


# --- scroll ------------------------------------------------------------------------------


async def test_scroll_to_the_end_shows_the_bottom_marker(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    result = await run_nodes(
        observed, settings, f"{demo_site.base_url}/scroll", node("scroll", {"amount": -1})
    )
    assert result.status == "success", result.error
    assert "bottom-marker" in observed.page.in_view
    assert observed.page.scroll_y > 4000


async def test_scroll_by_amount_down_and_up(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [node("scroll", {"amount": 300}), node("scroll", {"amount": 100, "down": False})]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/scroll", *nodes)
    assert result.status == "success", result.error
    assert observed.page.scroll_y == 200
    assert "bottom-marker" not in observed.page.in_view


async def test_scroll_up_to_the_top(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    nodes = [node("scroll", {"amount": -1}), node("scroll", {"amount": -1, "down": False})]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/scroll", *nodes)
    assert result.status == "success", result.error
    assert observed.page.scroll_y == 0


# --- key_press ---------------------------------------------------------------------------

KEY_INPUT = 'get_by_label("Key input")'


@pytest.mark.parametrize(
    ("keys", "logged"),
    [
        ("enter", "Enter"),  # Optexity validates "enter" and then presses nothing
        ("Enter", "Enter"),
        ("esc", "Escape"),
        ("ctrl+a", "Control a"),
        (["enter", "Enter", "esc", "ctrl+a", "x", "tab"], "Enter Enter Escape Control a x Tab"),
    ],
)
async def test_key_press_reaches_the_page(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    demo_site: Any,
    keys: str | list[str],
    logged: str,
) -> None:
    nodes = [node("click_element", {"command": KEY_INPUT}), node("key_press", {"type": keys})]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/keys", *nodes)
    assert result.status == "success", result.error
    assert observed.page.values["key-log"] == logged


async def test_key_press_tab_moves_the_focus(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    # After Tab the focus has left the field: the next key is not logged by it.
    nodes = [
        node("click_element", {"command": KEY_INPUT}),
        node("key_press", {"type": ["tab", "a"]}),
    ]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/keys", *nodes)
    assert result.status == "success", result.error
    assert observed.page.values["key-log"] == "Tab"


# --- download_url_as_pdf -----------------------------------------------------------------


async def test_download_url_as_pdf_saves_a_pdf_body(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    body = {"url": "/files/summary.pdf", "download_filename": "summary-{month[0]}.pdf"}
    parameters = {"input_parameters": {"month": ["2025-03"]}}
    result = await run_nodes(
        observed,
        settings,
        f"{demo_site.base_url}/reports",
        node("download_url_as_pdf", body),
        parameters=parameters,
        expected_downloads=1,
    )
    assert result.status == "success", result.error
    [record] = result.downloads
    assert record.path == "downloads/summary-2025-03.pdf"
    expected = fetch(f"{demo_site.base_url}/files/summary.pdf")
    assert (Path(result.run_dir) / record.path).read_bytes() == expected


@pytest.mark.parametrize(("url", "saved"), [("/help", "help.pdf"), (None, "reports.pdf")])
async def test_download_url_as_pdf_prints_an_html_page(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    demo_site: Any,
    url: str | None,
    saved: str,
) -> None:
    body = {"url": url} if url else {}
    nodes = [node("download_url_as_pdf", body), go("/keys")]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/reports", *nodes)
    assert result.status == "success", result.error
    assert [d.path for d in result.downloads] == [f"downloads/{saved}"]
    data = (Path(result.run_dir) / "downloads" / saved).read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(data) > 1000
    # The printing tab is gone and the run continued in the tab it was on.
    assert urls(observed) == ["/keys"]


async def test_download_url_as_pdf_http_error_fails(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any
) -> None:
    body = {"url": "/files/missing.pdf"}
    result = await run_nodes(
        observed, settings, f"{demo_site.base_url}/reports", node("download_url_as_pdf", body)
    )
    assert "answered HTTP 404" in failed_cause(result)
    assert result.downloads == []


# --- expect_new_tab ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "opened"),
    [
        ('get_by_role("button", name="Open preview in new tab")', "/reports/popup"),  # window.open
        ('get_by_role("link", name="Open help centre")', "/help"),  # target=_blank
    ],
)
async def test_expect_new_tab_continues_in_the_new_tab(
    observed: ObservingBrowser, settings: RunnerSettings, demo_site: Any, command: str, opened: str
) -> None:
    nodes = [
        node("click_element", {"command": command}, expect_new_tab=True, end_sleep_time=5),
        go("/keys"),
    ]
    result = await run_nodes(observed, settings, f"{demo_site.base_url}/reports", *nodes)
    assert result.status == "success", result.error
    assert urls(observed) == ["/reports", "/keys"]
    opened_events = [e for e in events_of(result) if e["event"] == "tab_opened"]
    assert [e["url"].removeprefix(demo_site.base_url) for e in opened_events] == [opened]


async def test_expect_new_tab_fails_when_no_tab_opens(
    observed: ObservingBrowser,
    settings: RunnerSettings,
    demo_site: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(interpreter, "NEW_TAB_TIMEOUT", 0.5)
    command = 'get_by_role("link", name="Reports")'
    result = await run_nodes(
        observed,
        settings,
        f"{demo_site.base_url}/reports",
        node("click_element", {"command": command}, expect_new_tab=True),
    )
    assert "no new tab opened within 0.5 s" in failed_cause(result)
