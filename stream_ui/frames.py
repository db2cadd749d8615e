"""Screencast frames: what Chromium sends, how a viewer receives it, and a viewer's mailbox.

A frame goes to viewers as one binary websocket message::

    uint32 big-endian  n       length of the header
    n bytes            header  UTF-8 JSON: seq, tab, deviceWidth, deviceHeight,
                               pageScaleFactor, offsetTop, scrollOffsetX, scrollOffsetY
    rest               JPEG    the picture

The header carries the metadata the page needs to show the frame and the server needs to map
a click on it back to page pixels (``input_mapping``).
"""

from __future__ import annotations

import asyncio
import json
import struct
from dataclasses import dataclass
from functools import cached_property
from typing import Any

HEADER_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class FrameMeta:
    """``Page.ScreencastFrameMetadata``: the page's viewport when the frame was taken."""

    device_width: float
    """Width of the page's viewport in CSS (device-independent) pixels."""
    device_height: float
    page_scale_factor: float = 1.0
    """Pinch-zoom of the page; Chromium applies it to input itself (see ``input_mapping``)."""
    offset_top: float = 0.0
    """Height of top browser controls above the page (mobile), in CSS pixels."""
    scroll_offset_x: float = 0.0
    scroll_offset_y: float = 0.0

    @classmethod
    def from_cdp(cls, metadata: dict[str, Any]) -> FrameMeta:
        return cls(
            device_width=float(metadata["deviceWidth"]),
            device_height=float(metadata["deviceHeight"]),
            page_scale_factor=float(metadata.get("pageScaleFactor", 1.0)),
            offset_top=float(metadata.get("offsetTop", 0.0)),
            scroll_offset_x=float(metadata.get("scrollOffsetX", 0.0)),
            scroll_offset_y=float(metadata.get("scrollOffsetY", 0.0)),
        )

    def as_header(self) -> dict[str, float]:
        return {
            "deviceWidth": self.device_width,
            "deviceHeight": self.device_height,
            "pageScaleFactor": self.page_scale_factor,
            "offsetTop": self.offset_top,
            "scrollOffsetX": self.scroll_offset_x,
            "scrollOffsetY": self.scroll_offset_y,
        }


@dataclass(frozen=True, eq=False)
class Frame:
    """One JPEG of one tab; ``seq`` grows with every frame the hub receives."""

    seq: int
    tab: int
    """Index of the tab in the pause's tab list when the frame arrived."""
    jpeg: bytes
    meta: FrameMeta

    @cached_property
    def message(self) -> bytes:
        """The binary websocket message (encoded once, shared by every viewer)."""
        header = json.dumps(
            {"seq": self.seq, "tab": self.tab, **self.meta.as_header()}, separators=(",", ":")
        ).encode()
        return HEADER_LENGTH.pack(len(header)) + header + self.jpeg


def decode_frame_message(message: bytes) -> tuple[dict[str, Any], bytes]:
    """Split a binary frame message into its header and JPEG (used by tests and tools)."""
    (length,) = HEADER_LENGTH.unpack_from(message)
    start = HEADER_LENGTH.size
    header: dict[str, Any] = json.loads(message[start : start + length])
    return header, message[start + length :]


class FrameSlot:
    """A viewer's mailbox that holds only the newest frame.

    The hub ``put``s every frame without waiting; the viewer's sender ``take``s when its
    socket is ready. A slow viewer therefore skips frames and always gets the latest one:
    memory stays at one frame per viewer, never a growing queue.
    """

    def __init__(self) -> None:
        self._frame: Frame | None = None
        self._ready = asyncio.Event()
        self.replaced = 0
        """Frames overwritten before the viewer took them (skipped for a slow viewer)."""

    def put(self, frame: Frame) -> None:
        if self._frame is not None:
            self.replaced += 1
        self._frame = frame
        self._ready.set()

    def peek(self) -> Frame | None:
        return self._frame

    async def take(self) -> Frame:
        """Wait for a frame and empty the slot."""
        while self._frame is None:
            self._ready.clear()
            await self._ready.wait()
        frame, self._frame = self._frame, None
        self._ready.clear()
        return frame
