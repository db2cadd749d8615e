"""Wiring the pause for the CLI: coordinator, link signer, live view server and mail.

Only the CLI (and tests that run the whole stack) use this module: the engine never imports
``stream_ui``. Nothing starts unless the automation has a ``human_in_loop_action`` somewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from rich.markup import escape

from optexity_runner.context import HumanLoop
from optexity_runner.hitl import HumanLoopService, PauseServices
from optexity_runner.loader import walk_models
from optexity_runner.mail import Mailer, SmtpMailer
from optexity_runner.pause import Pause, PauseCoordinator
from optexity_runner.run_store import RunStore
from optexity_runner.runner import RunRequest
from optexity_runner.tokens import LinkSigner
from schemas import HumanInLoopAction
from schemas.nodes import Node


class LineSink(Protocol):
    """Where operator lines go (``ConsoleReporter``); the text is shown as is."""

    def line(self, text: str) -> None: ...


def has_human_in_loop(nodes: Sequence[Node]) -> bool:
    """Whether any node, at any depth (loops, branches), is a ``human_in_loop_action``."""
    return any(isinstance(model, HumanInLoopAction) for _, model in walk_models(list(nodes), "$"))


@asynccontextmanager
async def human_loop_for(
    request: RunRequest, reporter: LineSink, *, mailer: Mailer | None = None
) -> AsyncIterator[PauseCoordinator | None]:
    """Set ``request.hitl`` for the duration of the block when the automation can pause.

    Starts the live view server (stopped on exit) and yields the coordinator, or yields None
    and changes nothing for an automation without a pause. ``mailer`` overrides the SMTP
    mailer built from the settings (tests inject faults through it).
    """
    automation = request.automation
    if not has_human_in_loop([*automation.nodes, *automation.post_processing_nodes]):
        yield None
        return
    settings = request.settings
    coordinator = PauseCoordinator()
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    signer = LinkSigner(secret)
    stores: dict[str, RunStore] = {}

    def on_viewer(pause: Pause, what: str) -> None:
        # The live view is shared by every run of the process: route to the pause's run.
        store = stores.get(pause.run_id)
        if store is None or store.closed:
            return
        store.emit(f"hitl_viewer_{what}", node_index=pause.node_index, pause_id=pause.pause_id)

    # Imported here: FastAPI and uvicorn add ~0.1-0.3 s to every start-up, and an automation
    # without a pause never needs them (bench, figure 5).
    from stream_ui.server import LiveViewServer

    def announce(text: str) -> None:
        # ConsoleReporter lines are rich markup; links and page text are shown literally.
        reporter.line(escape(text))

    server = LiveViewServer(coordinator, signer, settings, on_viewer=on_viewer)
    await server.start()
    if server.plain_http_warning is not None:
        announce(server.plain_http_warning)
    if mailer is None and settings.smtp_host is not None:
        mailer = SmtpMailer(settings)
    services = PauseServices(
        coordinator=coordinator,
        signer=signer,
        base_url=server.public_base_url,
        settings=settings,
        mailer=mailer,
        announce=announce,
    )

    def factory(run_id: str, name: str, store: RunStore) -> HumanLoop:
        stores[run_id] = store
        return HumanLoopService(services, run_id, name, store)

    previous = request.hitl
    request.hitl = factory
    try:
        yield coordinator
    finally:
        request.hitl = previous
        await server.stop()
