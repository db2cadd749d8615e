"""What figures 2 and 3 share: the pause service with its live view, and a remote viewer.

``LiveRig`` wires the pause as ``hitl_wiring`` does for the CLI (coordinator, link signer,
``LiveViewServer``, ``HumanLoopService``; no mail, so links would go to an ``.eml`` file),
but keeps the server at hand so a figure can read the screencast's own counters. Each pause
that opens is queued with a token for it. ``ViewerProcess`` drives ``bench/viewer.py``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from optexity_runner.context import HumanLoop
from optexity_runner.hitl import HumanLoopService, PauseServices
from optexity_runner.pause import Pause, PauseCoordinator
from optexity_runner.run_store import RunStore
from optexity_runner.settings import RunnerSettings
from optexity_runner.tokens import LinkSigner, PauseRef
from stream_ui.hub import FrameHub
from stream_ui.server import LiveViewServer

VIEWER_SCRIPT = Path(__file__).resolve().parent / "viewer.py"


class LiveRig:
    """The live view server and pause service of one benchmark (``async with``)."""

    def __init__(self, settings: RunnerSettings) -> None:
        self.settings = settings
        self.coordinator = PauseCoordinator()
        self.signer = LinkSigner()
        self.server = LiveViewServer(self.coordinator, self.signer, settings)
        self.base_url = ""
        self.lines: list[str] = []
        self._opened: asyncio.Queue[Pause] = asyncio.Queue()
        self.coordinator.on_open(self._opened.put_nowait)
        self._services: PauseServices | None = None

    async def __aenter__(self) -> LiveRig:
        self.base_url = await self.server.start()
        self._services = PauseServices(
            coordinator=self.coordinator,
            signer=self.signer,
            base_url=self.server.public_base_url,
            settings=self.settings,
            mailer=None,
            announce=self.lines.append,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.server.stop()

    def hitl(self, run_id: str, name: str, store: RunStore) -> HumanLoop:
        """The run's pause service (``RunRequest.hitl``)."""
        assert self._services is not None, "use LiveRig with async with"
        return HumanLoopService(self._services, run_id, name, store)

    async def next_pause(self, timeout: float = 60) -> tuple[Pause, str]:
        """The next pause to open, and a link token for it."""
        pause = await asyncio.wait_for(self._opened.get(), timeout)
        return pause, self.signer.mint(PauseRef(pause.run_id, pause.pause_id))

    def hub(self, pause: Pause) -> FrameHub | None:
        """The screencast of ``pause``, once a viewer has joined it."""
        return self.server.views.existing(pause)


class ViewerProcess:
    """``bench/viewer.py`` in its own process: one JSON command, one JSON answer."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pid = process.pid
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls) -> ViewerProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(VIEWER_SCRIPT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def call(self, cmd: str, **arguments: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        async with self._lock:
            self.process.stdin.write(json.dumps({"cmd": cmd, **arguments}).encode() + b"\n")
            await self.process.stdin.drain()
            line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the viewer process ended during {cmd!r}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def close(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
