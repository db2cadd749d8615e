"""Pause coordination: one record per human-in-the-loop pause, resolved exactly once.

The interpreter awaits ``Pause.wait()``; Done, "I can't do this" and the deadline all go
through ``Pause.resolve``, which is synchronous and runs on the event loop, so the first
caller wins atomically and every later caller gets the recorded outcome back. The deadline
is an event-loop timer (``loop.call_at``), not a polling loop, and Done wakes the waiting
run on the next loop iteration.

While a pause is open it is also the run's ``tabs.Interceptor``: dialogs, file choosers and
new tabs raised by the page are queued here for the live view to show and answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from playwright.async_api import Dialog, FileChooser, FilePayload, Page
from playwright.async_api import Error as PlaywrightError

from optexity_runner.tabs import Tabs


class PauseOutcome(StrEnum):
    DONE = "done"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    """The run ended for another reason (time limit, browser gone) while paused."""


@dataclass(frozen=True)
class Resolution:
    """How a pause ended; ``limit`` names the limit for ``timed_out``."""

    outcome: PauseOutcome
    at: float
    reason: str | None = None
    limit: str | None = None


@dataclass
class PendingDialog:
    id: str
    dialog: Dialog

    @property
    def description(self) -> dict[str, str]:
        return {
            "id": self.id,
            "type": self.dialog.type,
            "message": self.dialog.message,
            "default_value": self.dialog.default_value,
        }


@dataclass
class PendingFileChooser:
    id: str
    chooser: FileChooser

    @property
    def description(self) -> dict[str, str | bool]:
        return {"id": self.id, "multiple": self.chooser.is_multiple()}


PauseListener = Callable[[str], None]


@dataclass(eq=False)
class Pause:
    """One pause of one run. Created by ``PauseCoordinator.open``."""

    run_id: str
    pause_id: str
    node_index: str
    automation_name: str
    instructions: str | None
    tabs: Tabs
    created_at: float
    """Wall-clock time (``time.time()``) the pause began."""
    deadline: float
    """Wall-clock deadline."""
    limit: str
    """What set the deadline: ``max_wait_time`` or ``run_time_limit``."""
    resolution: Resolution | None = None
    viewed_page: Page | None = None
    """The tab the person is looking at; the run continues on it after Done."""
    dialogs: dict[str, PendingDialog] = field(default_factory=dict)
    file_choosers: dict[str, PendingFileChooser] = field(default_factory=dict)
    _future: asyncio.Future[Resolution] | None = None
    _timer: asyncio.TimerHandle | None = None
    _listeners: list[PauseListener] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def start(self) -> None:
        """Arm the deadline timer; called by the coordinator on the event loop."""
        loop = asyncio.get_running_loop()
        self._future = loop.create_future()
        delay = max(0.0, self.deadline - time.time())
        self._timer = loop.call_at(loop.time() + delay, self._expire)

    @property
    def is_open(self) -> bool:
        return self.resolution is None

    def seconds_left(self) -> float:
        return max(0.0, self.deadline - time.time())

    def resolve(self, outcome: PauseOutcome, reason: str | None = None) -> Resolution:
        """Record the outcome if none is recorded yet; return the recorded one."""
        if self.resolution is not None:
            return self.resolution
        limit = self.limit if outcome is PauseOutcome.TIMED_OUT else None
        self.resolution = Resolution(outcome, time.time(), reason, limit)
        if self._timer is not None:
            self._timer.cancel()
        if self._future is not None and not self._future.done():
            self._future.set_result(self.resolution)
        self._notify("resolved")
        return self.resolution

    async def wait(self) -> Resolution:
        """Until resolved (Done, rejected, deadline). Cancelling the wait cancels the pause."""
        assert self._future is not None, "Pause.start() was not called"
        try:
            return await asyncio.shield(self._future)
        except asyncio.CancelledError:
            self.resolve(PauseOutcome.CANCELLED, "the run ended while paused")
            raise

    def _expire(self) -> None:
        self.resolve(PauseOutcome.TIMED_OUT)

    # --- listeners (the live view) ---
    def subscribe(self, listener: PauseListener) -> Callable[[], None]:
        """Call ``listener(what)`` on changes: resolved, dialog, file_chooser, tabs."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, what: str) -> None:
        for listener in list(self._listeners):
            listener(what)

    # --- tabs.Interceptor ---
    def dialog_opened(self, dialog: Dialog) -> None:
        pending = PendingDialog(f"d{next(self._ids)}", dialog)
        self.dialogs[pending.id] = pending
        self._notify("dialog")

    def file_chooser_opened(self, chooser: FileChooser) -> None:
        pending = PendingFileChooser(f"f{next(self._ids)}", chooser)
        self.file_choosers[pending.id] = pending
        self._notify("file_chooser")

    def page_opened(self, page: Page) -> None:
        self.viewed_page = page
        self._notify("tabs")

    async def answer_dialog(self, dialog_id: str, accept: bool, text: str | None = None) -> bool:
        """Answer a queued dialog as the person chose; False if it is no longer pending."""
        pending = self.dialogs.pop(dialog_id, None)
        if pending is None:
            return False
        try:
            if accept:
                await pending.dialog.accept(
                    text if text is not None else pending.dialog.default_value
                )
            else:
                await pending.dialog.dismiss()
        except PlaywrightError:
            return False
        finally:
            self._notify("dialog")
        return True

    async def answer_file_chooser(
        self, chooser_id: str, files: list[str] | list[FilePayload]
    ) -> bool:
        """Give the page the files the person picked (an empty list cancels).

        Paths are read lazily by the page (on submit), so files that will not outlive the
        call are passed as in-memory ``FilePayload``s instead.
        """
        pending = self.file_choosers.pop(chooser_id, None)
        if pending is None:
            return False
        try:
            await pending.chooser.set_files(files)
        except PlaywrightError:
            return False
        finally:
            self._notify("file_chooser")
        return True

    async def release(self) -> None:
        """After resolution: dismiss what the person left unanswered, stop intercepting."""
        self.tabs.stop_intercepting()
        for pending in list(self.dialogs.values()):
            with contextlib.suppress(PlaywrightError):  # the page may be gone already
                await pending.dialog.dismiss()
        self.dialogs.clear()
        self.file_choosers.clear()


PauseOpened = Callable[[Pause], None]


class PauseCoordinator:
    """Every pause of this process, by run and pause id; one open pause per run."""

    def __init__(self) -> None:
        self._pauses: dict[tuple[str, str], Pause] = {}
        self._open_by_run: dict[str, Pause] = {}
        self._on_open: list[PauseOpened] = []

    def on_open(self, callback: PauseOpened) -> None:
        """Call ``callback(pause)`` each time a pause opens (the live view subscribes)."""
        self._on_open.append(callback)

    def open(
        self,
        *,
        run_id: str,
        node_index: str,
        automation_name: str,
        instructions: str | None,
        tabs: Tabs,
        max_wait_time: float,
        run_deadline: float | None = None,
    ) -> Pause:
        """Create and arm a pause; ``run_deadline`` (wall clock) caps ``max_wait_time``."""
        current = self._open_by_run.get(run_id)
        if current is not None and current.is_open:
            raise RuntimeError(f"run {run_id} already has an open pause ({current.pause_id})")
        now = time.time()
        deadline, limit = now + max_wait_time, "max_wait_time"
        if run_deadline is not None and run_deadline < deadline:
            deadline, limit = run_deadline, "run_time_limit"
        pause = Pause(
            run_id=run_id,
            pause_id=secrets.token_urlsafe(9),
            node_index=node_index,
            automation_name=automation_name,
            instructions=instructions,
            tabs=tabs,
            created_at=now,
            deadline=deadline,
            limit=limit,
        )
        pause.viewed_page = tabs.current
        pause.start()
        self._pauses[(run_id, pause.pause_id)] = pause
        self._open_by_run[run_id] = pause
        tabs.start_intercepting(pause)
        for callback in self._on_open:
            callback(pause)
        return pause

    def get(self, run_id: str, pause_id: str) -> Pause | None:
        """The pause a verified token names, open or ended; ``None`` if unknown."""
        return self._pauses.get((run_id, pause_id))

    def open_pause(self, run_id: str) -> Pause | None:
        """The run's open pause, if any."""
        pause = self._open_by_run.get(run_id)
        return pause if pause is not None and pause.is_open else None
