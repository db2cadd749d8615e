"""From what the person did on the picture to CDP ``Input.*`` parameters. Pure functions.

The picture is the page's viewport scaled to fit the viewer (and the frame itself may be
smaller than the viewport, see ``maxWidth``), so a point on the displayed image is mapped with
the frame's metadata::

    page_x = x * deviceWidth / displayed_width
    page_y = y * deviceHeight / displayed_height - offsetTop

``Input.dispatchMouseEvent`` takes viewport coordinates in CSS pixels and applies the page's
pinch-zoom (``pageScaleFactor``) itself, so that factor is not divided out here (it is still
sent to the page with each frame, and ``document_point`` uses it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stream_ui.frames import FrameMeta
from stream_ui.messages import Key, Mouse, Tap

MODIFIER_CTRL = 2
MODIFIER_META = 4

_MOUSE_TYPES = {
    "move": "mouseMoved",
    "down": "mousePressed",
    "up": "mouseReleased",
    "wheel": "mouseWheel",
}
_BUTTON_BITS = {"left": 1, "right": 2, "middle": 4, "back": 8, "forward": 16}
# Keys that type a character of their own although ``KeyboardEvent.key`` is a word.
_KEY_TEXT = {"Enter": "\r"}


@dataclass(frozen=True)
class PagePoint:
    """A point in the page's viewport, CSS pixels."""

    x: float
    y: float


def to_page_point(x: float, y: float, width: float, height: float, meta: FrameMeta) -> PagePoint:
    """Map a point on the displayed image (``width`` x ``height``) to the page's viewport.

    The result is clamped to the viewport so a drag that leaves the picture stays on the page.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"displayed image size must be positive, got {width}x{height}")
    page_x = x * meta.device_width / width
    page_y = y * meta.device_height / height - meta.offset_top
    return PagePoint(
        x=_clamp(page_x, 0.0, max(0.0, meta.device_width - 1)),
        y=_clamp(page_y, 0.0, max(0.0, meta.device_height - meta.offset_top - 1)),
    )


def document_point(point: PagePoint, meta: FrameMeta) -> PagePoint:
    """Where a viewport point is in the document (scroll and pinch-zoom applied)."""
    scale = meta.page_scale_factor or 1.0
    return PagePoint(meta.scroll_offset_x + point.x / scale, meta.scroll_offset_y + point.y / scale)


def mouse_params(message: Mouse, meta: FrameMeta) -> dict[str, Any]:
    """``Input.dispatchMouseEvent`` parameters for one mouse message."""
    point = to_page_point(message.x, message.y, message.width, message.height, meta)
    params: dict[str, Any] = {
        "type": _MOUSE_TYPES[message.action],
        "x": round(point.x, 2),
        "y": round(point.y, 2),
        "modifiers": message.modifiers,
        "button": message.button,
        "buttons": message.buttons,
        "clickCount": message.click_count,
    }
    if message.action == "wheel":
        params["deltaX"] = message.delta_x
        params["deltaY"] = message.delta_y
        params["button"] = "none"
    elif message.action in ("down", "up") and message.button == "none":
        params["button"] = "left"
    if message.action in ("down", "up") and message.click_count == 0:
        params["clickCount"] = 1
    if message.action == "down":
        params["buttons"] |= _BUTTON_BITS.get(params["button"], 0)
    return params


def tap_params(message: Tap, meta: FrameMeta) -> list[dict[str, Any]]:
    """A tap as a left click: move, press, release at the mapped point."""
    point = to_page_point(message.x, message.y, message.width, message.height, meta)
    where = {"x": round(point.x, 2), "y": round(point.y, 2)}
    return [
        {"type": "mouseMoved", **where, "button": "none", "buttons": 0},
        {"type": "mousePressed", **where, "button": "left", "buttons": 1, "clickCount": 1},
        {"type": "mouseReleased", **where, "button": "left", "buttons": 0, "clickCount": 1},
    ]


def key_text(message: Key) -> str:
    """The character a key press types, if any.

    The viewer sends ``KeyboardEvent.key`` as ``text`` for printable keys, which is what the
    person's own layout produced; shortcuts (Ctrl or Meta held) type nothing.
    """
    if message.action != "down":
        return ""
    if message.text:
        return message.text
    if message.modifiers & (MODIFIER_CTRL | MODIFIER_META):
        return ""
    if message.key in _KEY_TEXT:
        return _KEY_TEXT[message.key]
    return message.key if len(message.key) == 1 else ""


def key_params(message: Key) -> dict[str, Any]:
    """``Input.dispatchKeyEvent`` parameters for one key message."""
    text = key_text(message)
    # keyDown with text also fires keypress and input; rawKeyDown is a key that types nothing.
    kind = "keyUp" if message.action == "up" else "keyDown" if text else "rawKeyDown"
    params: dict[str, Any] = {
        "type": kind,
        "key": message.key,
        "code": message.code,
        "modifiers": message.modifiers,
        "windowsVirtualKeyCode": message.key_code,
        "nativeVirtualKeyCode": message.key_code,
        "location": message.location,
        "autoRepeat": message.repeat,
    }
    if text:
        params["text"] = text
        params["unmodifiedText"] = text
    return params


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)
