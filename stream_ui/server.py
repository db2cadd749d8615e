"""LiveViewServer: the live view app served by uvicorn inside the run's own event loop.

Same loop on purpose: ``Pause.resolve`` is synchronous and must run on the loop that runs the
automation, so Done, "I can't do this" and the deadline race atomically and exactly one wins.
The server binds its socket itself (so a taken port is an error here, not uvicorn's
``sys.exit``) and leaves signal handling to the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Generator

import uvicorn

from optexity_runner.errors import ExitCode, OptexityError
from optexity_runner.pause import Pause, PauseCoordinator
from optexity_runner.settings import RunnerSettings
from optexity_runner.tokens import LinkSigner
from stream_ui.app import create_app
from stream_ui.hub import LiveViews

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 3.0


class LiveViewStartError(OptexityError):
    """Raised by ``LiveViewServer.start`` when the address cannot be bound or uvicorn fails.

    A setting problem (a taken ``--stream-port``, an unknown ``--stream-host``): exit 2.
    """

    exit_code = ExitCode.INVALID_INPUT


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: Ctrl+C belongs to the CLI, not to the view."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class LiveViewServer:
    """Serves the live view of ``coordinator``'s pauses on ``settings.stream_host``/``port``.

    ``on_viewer(pause, "connected" | "disconnected")`` is called once per websocket viewer
    (nothing about the viewer's address is passed on).
    """

    def __init__(
        self,
        coordinator: PauseCoordinator,
        signer: LinkSigner,
        settings: RunnerSettings,
        on_viewer: Callable[[Pause, str], None] | None = None,
    ) -> None:
        self._settings = settings
        self.views = LiveViews(settings)
        self.app = create_app(coordinator, signer, settings, on_viewer, views=self.views)
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self._base_url: str | None = None
        self._public_base_url: str | None = None

    async def start(self) -> str:
        """Bind, start serving in the current event loop, and return ``http://host:port``."""
        if self._base_url is not None:
            return self._base_url
        host, port = self._settings.stream_host, self._settings.stream_port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            sock = socket.create_server((host, port), family=family, reuse_port=False)
        except OSError as exc:
            raise LiveViewStartError(
                f"the live view cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from exc
        sock.setblocking(False)
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=int(SHUTDOWN_TIMEOUT),
            ws_ping_interval=20.0,
        )
        server = _EmbeddedServer(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="live-view-server")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT
        while not server.started:
            if task.done() or loop.time() > deadline:
                sock.close()
                task.cancel()
                raise LiveViewStartError(f"the live view did not start on {host}:{port}")
            await asyncio.sleep(0.01)
        self._server, self._task, self._socket = server, task, sock
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._base_url = f"http://{shown}:{bound_port}"
        self._public_base_url = self._public_base(self._base_url)
        return self._base_url

    async def stop(self) -> None:
        """Close every viewer and stop serving; safe to call twice."""
        server, task = self._server, self._task
        self._server = self._task = None
        self._base_url = self._public_base_url = None
        if server is None or task is None:
            return
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), SHUTDOWN_TIMEOUT + 2)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            await self.views.close()
            if self._socket is not None:
                self._socket.close()
                self._socket = None

    @property
    def base_url(self) -> str:
        """The bound address, ``http://host:port`` (after ``start``)."""
        if self._base_url is None:
            raise RuntimeError("the live view server is not started")
        return self._base_url

    @property
    def public_base_url(self) -> str:
        """What links point at: ``settings.public_url`` or the bound address (after ``start``).

        A wildcard bind (0.0.0.0, ::) is not an address a person can open, so the machine's
        name stands in for it.
        """
        if self._public_base_url is None:
            raise RuntimeError("the live view server is not started")
        return self._public_base_url

    @property
    def plain_http_warning(self) -> str | None:
        """One line for the operator when links reach beyond this machine over plain http.

        None when the view listens on loopback only, or ``public_url`` is https.
        """
        settings = self._settings
        if _is_loopback(settings.stream_host):
            return None
        if settings.public_url and settings.public_url.lower().startswith("https://"):
            return None
        return (
            f"warning: the live view listens on {settings.stream_host} and its links are "
            "plain http (whoever can read the traffic can take the browser): put it behind "
            "an https reverse proxy and pass --public-url https://..."
        )

    def _public_base(self, base: str) -> str:
        if self._settings.public_url:
            return self._settings.public_url.rstrip("/")
        for wildcard in ("//0.0.0.0:", "//[::]:"):
            if wildcard in base:
                # gethostname(), not getfqdn(): no DNS lookup, which can stall on a closed
                # network. --public-url is the way to a name people's machines resolve.
                return base.replace(wildcard, f"//{socket.gethostname()}:")
        return base


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything
