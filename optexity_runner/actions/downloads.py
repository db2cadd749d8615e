"""Downloads: files a click or select produces, and files fetched by URL."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from optexity_runner.context import StepContext
from optexity_runner.result import DownloadRecord

DOWNLOAD_TIMEOUT_MS = 30_000


def safe_filename(name: str, fallback: str) -> str:
    """A file name that stays inside the downloads folder."""
    cleaned = re.sub(r"[^A-Za-z0-9._ -]", "_", Path(name).name).strip(" .")
    return cleaned or fallback


def unique_path(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path, stem, suffix, n = folder / name, Path(name).stem, Path(name).suffix, 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    return path


def record_download(
    step: StepContext, path: Path, suggested: str, url: str | None, metadata: dict[str, Any] | None
) -> None:
    record = DownloadRecord(
        path=str(path.relative_to(step.run.store.dir)),
        suggested_filename=suggested,
        url=url,
        node_index=step.index,
        metadata=metadata,
    )
    step.run.state.downloads.append(record)
    step.emit("download_saved", path=record.path, suggested_filename=suggested, bytes=path.stat().st_size)


async def capture_download(
    step: StepContext,
    trigger: Callable[[], Awaitable[None]],
    filename: str | None,
    metadata: dict[str, Any] | None,
) -> None:
    """Run ``trigger`` expecting a download, and save it into the run's downloads folder."""
    async with step.page.expect_download(timeout=DOWNLOAD_TIMEOUT_MS) as info:
        await trigger()
    download = await info.value
    suggested = download.suggested_filename
    name = safe_filename(step.text(filename), suggested) if filename else suggested
    if filename and not Path(name).suffix and Path(suggested).suffix:
        name += Path(suggested).suffix
    path = unique_path(step.run.store.downloads_dir, safe_filename(name, "download"))
    await download.save_as(path)
    record_download(step, path, suggested, download.url, metadata)


@asynccontextmanager
async def fetched_to_temp_file(step: StepContext, url: str) -> AsyncIterator[Path]:
    """Fetch ``url`` with the run's cookies into a temporary file, removed afterwards."""
    response = await step.page.context.request.get(url)
    if not response.ok:
        raise FileNotFoundError(f"fetching {url} answered HTTP {response.status}")
    name = safe_filename(url.rsplit("/", 1)[-1].split("?")[0], "upload")
    folder = Path(tempfile.mkdtemp(prefix="optexity-upload-"))
    path = folder / name
    try:
        path.write_bytes(await response.body())
        yield path
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(folder)
