"""Loopback helpers that do not need a browser."""

from __future__ import annotations

import socket
import urllib.request


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def fetch(url: str) -> bytes:
    """The body at ``url``, fetched outside the browser."""
    with urllib.request.urlopen(url) as response:
        body: bytes = response.read()
    return body
