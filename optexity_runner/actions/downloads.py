"""Downloads: files a click or select produces, and files fetched by URL."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import FilePayload
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from optexity_runner.context import StepContext
from optexity_runner.result import DownloadRecord

DOWNLOAD_TIMEOUT_MS = 30_000


class DownloadNotStartedError(RuntimeError):
    """Raised by ``capture_download`` when the action ran but no download began in time."""


def safe_filename(name: str, fallback: str) -> str:
    """A file name that stays inside the downloads folder."""
    cleaned = re.sub(r"[^A-Za-z0-9._ -]", "_", Path(name).name).strip(" .")
    return cleaned or fallback


def unique_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name-2``, ``name-3``... when taken (creates ``folder``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path, stem, suffix, n = folder / name, Path(name).stem, Path(name).suffix, 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    return path


def record_download(
    step: StepContext, path: Path, suggested: str, url: str | None, metadata: dict[str, Any] | None
) -> None:
    """Add a saved file to the result and emit ``download_saved``."""
    record = DownloadRecord(
        path=str(path.relative_to(step.run.store.dir)),
        suggested_filename=suggested,
        url=url,
        node_index=step.index,
        attempt=step.run.attempt,
        metadata=metadata,
    )
    step.run.state.downloads.append(record)
    step.emit(
        "download_saved", path=record.path, suggested_filename=suggested, bytes=path.stat().st_size
    )


async def capture_download(
    step: StepContext,
    trigger: Callable[[], Awaitable[None]],
    filename: str | None,
    metadata: dict[str, Any] | None,
) -> None:
    """Run ``trigger`` expecting a download, and save it into the run's downloads folder.

    ``DownloadNotStartedError`` when the trigger worked but no download followed: the
    retry loop must not trigger again (a second click could start a second download).
    """
    triggered = False
    try:
        async with step.page.expect_download(timeout=DOWNLOAD_TIMEOUT_MS) as info:
            await trigger()
            triggered = True
        download = await info.value
    except PlaywrightTimeoutError as exc:
        if not triggered:
            raise
        seconds = DOWNLOAD_TIMEOUT_MS / 1000
        raise DownloadNotStartedError(
            f"no download started within {seconds:g} s of the action"
        ) from exc
    suggested = download.suggested_filename
    name = safe_filename(step.text(filename), suggested) if filename else suggested
    if filename and not Path(name).suffix and Path(suggested).suffix:
        name += Path(suggested).suffix
    path = unique_path(step.run.store.downloads_dir, safe_filename(name, "download"))
    await download.save_as(path)
    record_download(step, path, suggested, download.url, metadata)


async def fetch_upload(step: StepContext, url: str) -> FilePayload:
    """Fetch ``url`` with the run's cookies, as a file to hand to a file input.

    Kept in memory, never written to disk: Chromium reads a file input's files when the
    form is submitted, so a temporary file removed after ``set_input_files`` would make the
    later submission fail, and one kept until then could outlive a crashed run.
    """
    response = await step.page.context.request.get(url)
    try:
        if not response.ok:
            raise FileNotFoundError(f"fetching {url} answered HTTP {response.status}")
        header = response.headers.get("content-disposition", "")
        disposition = re.search(r'filename="?([^";]+)"?', header)
        raw_name = disposition.group(1) if disposition else url.rsplit("/", 1)[-1].split("?")[0]
        mime = response.headers.get("content-type", "").split(";")[0].strip()
        return {
            "name": safe_filename(raw_name, "upload"),
            "mimeType": mime or "application/octet-stream",
            "buffer": await response.body(),
        }
    finally:
        await response.dispose()
