"""Finding and launching Chromium.

One browser per process, a fresh context per run attempt (PLATFORM_NOTES.md: a context costs
tens of MB, a browser hundreds). The launch flags keep Chromium quiet on a closed network and
drop the hidden omnibox renderer that headless Chromium starts per context.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from playwright.async_api import Browser, Playwright
from playwright.async_api import Error as PlaywrightError

from optexity_runner.errors import BrowserUnavailableError
from optexity_runner.failures import first_line

DEBIAN_CHROMIUM_PATHS = (Path("/usr/lib/chromium/chromium"), Path("/usr/bin/chromium"))

INSTALL_HINT = (
    "install one with `sudo apt-get install -y --no-install-recommends chromium` "
    "(or `make demo`, which does it), or point OPTEXITY_CHROMIUM / --chromium at a Chromium binary"
)

#: Playwright's own ``--disable-features`` list (1.65), used when its bundle cannot be read;
#: ``tests/test_browser.py`` fails when the installed Playwright's list differs.
#: Chromium honours only the last ``--disable-features`` switch, so ours must repeat it.
PLAYWRIGHT_DISABLED_FEATURES_FALLBACK = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)

#: Features we disable on top: the hidden omnibox WebUI renderer per context (~40 MB each).
EXTRA_DISABLED_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "PreloadTopChromeWebUI")

QUIET_NETWORK_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def playwright_disabled_features() -> tuple[str, ...]:
    """The ``disabledFeatures`` list of the installed Playwright driver, read from its bundle."""
    import playwright

    bundle = Path(playwright.__file__).parent / "driver/package/lib/coreBundle.js"
    try:
        source = bundle.read_text(encoding="utf-8")
    except OSError:
        return PLAYWRIGHT_DISABLED_FEATURES_FALLBACK
    match = re.search(r"disabledFeatures\s*=\s*\[(.*?)\]", source, re.DOTALL)
    if not match:
        return PLAYWRIGHT_DISABLED_FEATURES_FALLBACK
    body = re.sub(r"//[^\n]*", "", match.group(1))
    names = tuple(re.findall(r'"([A-Za-z0-9_]+)"', body))
    return names or PLAYWRIGHT_DISABLED_FEATURES_FALLBACK


def launch_args() -> list[str]:
    """Chromium switches for every launch."""
    features = dict.fromkeys([*playwright_disabled_features(), *EXTRA_DISABLED_FEATURES])
    return [*QUIET_NETWORK_ARGS, "--disable-features=" + ",".join(features)]


def resolve_chromium(configured: Path | None, playwright: Playwright | None = None) -> Path | None:
    """The browser to launch, in the documented order; ``None`` means Playwright's own.

    Order: the configured path (setting or ``OPTEXITY_CHROMIUM``), Playwright's own browser if
    installed, then Debian's binary. Raises ``BrowserUnavailableError`` when none exists.
    """
    if configured is not None:
        if not configured.exists():
            raise BrowserUnavailableError(f"Chromium not found at {configured}; {INSTALL_HINT}")
        return configured
    env = os.environ.get("OPTEXITY_CHROMIUM")
    if env:
        return resolve_chromium(Path(env))
    if playwright is not None:
        own = Path(playwright.chromium.executable_path)
        if own.exists():
            return None
    for candidate in DEBIAN_CHROMIUM_PATHS:
        if candidate.exists():
            return candidate
    found = shutil.which("chromium")
    if found:
        return Path(found)
    raise BrowserUnavailableError(f"no Chromium found; {INSTALL_HINT}")


async def launch_browser(
    playwright: Playwright, configured: Path | None = None, headless: bool = True
) -> Browser:
    """Launch Chromium with the project's switches; ``BrowserUnavailableError`` on failure."""
    executable = resolve_chromium(configured, playwright)
    try:
        return await playwright.chromium.launch(
            executable_path=executable, headless=headless, args=launch_args()
        )
    except PlaywrightError as exc:
        where = executable or "Playwright's Chromium"
        raise BrowserUnavailableError(
            f"Chromium ({where}) did not start: {first_line(exc)}"
        ) from exc
