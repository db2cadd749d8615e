"""The person's side, in a process of its own: ``python bench/viewer.py``.

A viewer is not part of the runner, so it runs apart: its CPU is not counted as the runner's
and it does not share the runner's event loop. The benchmark drives it with one JSON command
per line on stdin and reads one JSON answer per line on stdout. Timestamps are
``time.monotonic()``, the same clock in every process on Linux.

Commands:

- ``{"cmd": "serve"}``: start a loopback HTTP server for pages the runs open: ``/toggle``
  (a white page; every click shows or hides a striped box in the middle, so the JPEG of one
  state is several times the size of the other: ~6 vs ~25 KB) and ``/next/<anything>``
  (a tiny page; the time each path was first requested is kept). Answers ``{"port"}``.
- ``{"cmd": "arrivals"}``: ``{"arrivals": {path: time}}``.
- ``{"cmd": "done", "base", "token", "delay"}``: read the pause as the page does when it
  opens (``GET /api/pause``, which also opens the connection), wait ``delay`` seconds, then
  ``POST /api/pause/done``. Answers ``{"sent", "answered", "status"}``.
- ``{"cmd": "watch", "base", "token", "seconds", "width", "height"}``: join the live view and
  receive frames for ``seconds`` after the first. Answers ``{"frames", "fps",
  "jpeg_bytes"}``, fps being the rate between the first and the last frame.
- ``{"cmd": "click", "base", "token", "clicks", "x", "y", "width", "height"}``: join the live
  view on the toggle page; per click, send mouse down + up and time until a frame arrives
  whose JPEG size shows the other background. Answers ``{"latencies"}`` (seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import sys
import time
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

TOGGLE_PAGE = b"""<!doctype html>
<meta charset="utf-8"><title>toggle</title>
<style>
  html, body { margin: 0; height: 100%; background: #fff; }
  #box { position: absolute; left: 540px; top: 260px; width: 200px; height: 200px; }
  body.on #box { background: repeating-linear-gradient(45deg, #123 0 7px, #fed 7px 13px); }
</style>
<body onclick="document.body.classList.toggle('on')"><div id="box"></div></body>
"""
NEXT_PAGE = b"<!doctype html><title>next</title><p>next"
#: A frame at least this many times larger or smaller than the last shows the other state.
SIZE_FLIP = 2.0
FRAME_TIMEOUT = 5.0


class Viewer:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.http = httpx.AsyncClient(timeout=10)

    # --- the page server ---
    async def serve(self) -> dict[str, Any]:
        server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        return {"port": server.sockets[0].getsockname()[1]}

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        path = request.split(b" ", 2)[1].decode()
        self.arrivals.setdefault(path, time.monotonic())
        body = TOGGLE_PAGE if path == "/toggle" else NEXT_PAGE
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        with contextlib.suppress(ConnectionError):  # the browser gave up on it
            await writer.drain()
        writer.close()

    # --- the live view ---
    async def done(self, base: str, token: str, delay: float) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {token}"}
        await self.http.get(f"{base}/api/pause", headers=auth)
        await asyncio.sleep(delay)
        sent = time.monotonic()
        response = await self.http.post(f"{base}/api/pause/done", headers=auth)
        return {"sent": sent, "answered": time.monotonic(), "status": response.status_code}

    async def _join(self, base: str, token: str, width: int, height: int) -> ClientConnection:
        socket = await connect(base.replace("http", "ws", 1) + "/ws", max_size=None)
        await socket.send(
            json.dumps({"token": token, "viewport": {"width": width, "height": height}})
        )
        return socket

    async def watch(
        self, base: str, token: str, seconds: float, width: int, height: int
    ) -> dict[str, Any]:
        sizes: list[int] = []
        times: list[float] = []
        async with await self._join(base, token, width, height) as socket:
            await _next_frame(socket)  # the newest frame, sent on joining
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                try:
                    jpeg = await asyncio.wait_for(_next_frame(socket), left)
                except TimeoutError:
                    break
                times.append(time.monotonic())
                sizes.append(len(jpeg))
        # The rate between the first and the last frame: no error from where the window cuts.
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        return {"frames": len(sizes), "fps": fps, "jpeg_bytes": sizes}

    async def click(
        self, base: str, token: str, clicks: int, x: float, y: float, width: int, height: int
    ) -> dict[str, Any]:
        latencies: list[float] = []
        pointer = {"x": x, "y": y, "width": width, "height": height}
        async with await self._join(base, token, width, height) as socket:
            last = len(await _next_frame(socket))
            for _ in range(clicks):
                await asyncio.sleep(0.15)  # let the page settle between clicks
                sent = time.monotonic()
                for action, buttons in (("down", 1), ("up", 0)):
                    message: dict[str, Any] = {"type": "mouse", "action": action}
                    message.update(button="left", buttons=buttons, clickCount=1, **pointer)
                    await socket.send(json.dumps(message))
                while True:
                    size = len(await asyncio.wait_for(_next_frame(socket), FRAME_TIMEOUT))
                    if size > last * SIZE_FLIP or size * SIZE_FLIP < last:
                        latencies.append(time.monotonic() - sent)
                        last = size
                        break
        return {"latencies": latencies}


async def _next_frame(socket: ClientConnection) -> bytes:
    """The JPEG of the next binary message (text messages, the pause's state, are skipped)."""
    while True:
        message = await socket.recv()
        if isinstance(message, bytes):
            (length,) = struct.unpack_from(">I", message)
            return message[4 + length :]


async def main() -> None:
    viewer = Viewer()
    while line := await asyncio.to_thread(sys.stdin.readline):
        command = json.loads(line)
        name = command.pop("cmd")
        if name == "arrivals":
            answer: dict[str, Any] = {"arrivals": viewer.arrivals}
        else:
            answer = await getattr(viewer, name)(**command)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
