"""Finding and launching Chromium, and the switches it gets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Playwright

from optexity_runner import browser as browser_module
from optexity_runner.browser import (
    EXTRA_DISABLED_FEATURES,
    INSTALL_HINT,
    PLAYWRIGHT_DISABLED_FEATURES_FALLBACK,
    QUIET_NETWORK_ARGS,
    launch_args,
    launch_browser,
    playwright_disabled_features,
    resolve_chromium,
)
from optexity_runner.errors import BrowserUnavailableError, ExitCode


def test_playwright_disabled_features_are_read_from_the_installed_driver() -> None:
    features = playwright_disabled_features()
    assert "MediaRouter" in features
    assert len(features) >= 5
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", f) for f in features)


def test_fallback_matches_the_installed_playwright() -> None:
    # Fails when a Playwright upgrade changes its list: update the fallback (and check
    # that the bundle is still readable) so a missing bundle does not drop a feature.
    assert playwright_disabled_features() == PLAYWRIGHT_DISABLED_FEATURES_FALLBACK


def test_unreadable_bundle_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import playwright

    monkeypatch.setattr(playwright, "__file__", str(tmp_path / "playwright" / "__init__.py"))
    assert playwright_disabled_features() == PLAYWRIGHT_DISABLED_FEATURES_FALLBACK


def test_launch_args_repeat_playwright_features_in_one_switch() -> None:
    args = launch_args()
    switches = [a for a in args if a.startswith("--disable-features=")]
    assert len(switches) == 1
    features = switches[0].removeprefix("--disable-features=").split(",")
    assert features == [*playwright_disabled_features(), *EXTRA_DISABLED_FEATURES]
    assert set(QUIET_NETWORK_ARGS) <= set(args)


async def test_chromium_honours_our_feature_list(browser: Browser) -> None:
    # Chromium keeps only the last --disable-features: it must be ours, with both lists.
    page = await browser.new_page()
    try:
        await page.goto("chrome://version")
        command_line = await page.locator("#command_line").inner_text()
    finally:
        await page.close()
    switches = re.findall(r"--disable-features=(\S+)", command_line)
    assert len(switches) >= 2  # Playwright's own, then ours
    last = switches[-1].split(",")
    assert {"MediaRouter", "WebUIOmniboxPopup", "PreloadTopChromeWebUI"} <= set(last)
    for arg in QUIET_NETWORK_ARGS:
        assert arg in command_line


def test_configured_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BrowserUnavailableError) as info:
        resolve_chromium(tmp_path / "chromium")
    assert f"Chromium not found at {tmp_path / 'chromium'}" in str(info.value)
    assert INSTALL_HINT in str(info.value)
    assert info.value.exit_code == ExitCode.BROWSER_UNAVAILABLE


def test_environment_variable_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = tmp_path / "my-chromium"
    binary.write_text("")
    monkeypatch.setenv("OPTEXITY_CHROMIUM", str(binary))
    assert resolve_chromium(None) == binary
    monkeypatch.setenv("OPTEXITY_CHROMIUM", str(tmp_path / "missing"))
    with pytest.raises(BrowserUnavailableError, match="missing"):
        resolve_chromium(None)


def test_configured_path_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    binary = tmp_path / "configured"
    binary.write_text("")
    monkeypatch.setenv("OPTEXITY_CHROMIUM", str(tmp_path / "missing"))
    assert resolve_chromium(binary) == binary


def test_debian_chromium_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPTEXITY_CHROMIUM", raising=False)
    assert resolve_chromium(None) == Path("/usr/lib/chromium/chromium")


def test_no_browser_anywhere_gives_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OPTEXITY_CHROMIUM", raising=False)
    monkeypatch.setattr(browser_module, "DEBIAN_CHROMIUM_PATHS", (tmp_path / "none",))
    monkeypatch.setattr(browser_module.shutil, "which", lambda name: None)
    with pytest.raises(BrowserUnavailableError) as info:
        resolve_chromium(None)
    assert str(info.value) == f"no Chromium found; {INSTALL_HINT}"
    assert "apt-get install -y --no-install-recommends chromium" in str(info.value)


async def test_a_binary_that_is_not_chromium_fails_to_start(
    playwright: Playwright, tmp_path: Path
) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho not a browser >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(BrowserUnavailableError) as info:
        await launch_browser(playwright, fake)
    assert str(info.value).startswith(f"Chromium ({fake}) did not start: ")
