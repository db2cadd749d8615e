"""Messages the viewer page sends over the websocket, validated before anything acts on them.

Every message is a JSON object with a ``type``; the first one on a connection is
``{"token": "..."}`` (``Hello``). Pointer positions are in the viewer's displayed-image
pixels (``x``, ``y`` from the image's top-left corner) together with the size the image is
displayed at (``width``, ``height``); ``input_mapping`` turns them into page pixels.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_TEXT = 10_000
MAX_REASON = 500
Modifiers = Annotated[int, Field(ge=0, le=15)]
"""CDP modifier bits: Alt 1, Ctrl 2, Meta 4, Shift 8."""


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class ViewportSize(_Message):
    """The viewer's room for the picture, in device pixels; the frame size follows it."""

    width: int = Field(ge=50, le=8192)
    height: int = Field(ge=50, le=8192)


class Hello(_Message):
    token: str = Field(min_length=1, max_length=2048)
    viewport: ViewportSize | None = None


class _Pointer(_Message):
    x: float
    y: float
    width: float = Field(gt=0, description="displayed width of the image")
    height: float = Field(gt=0, description="displayed height of the image")


class Mouse(_Pointer):
    type: Literal["mouse"]
    action: Literal["move", "down", "up", "wheel"]
    button: Literal["none", "left", "middle", "right", "back", "forward"] = "none"
    buttons: int = Field(0, ge=0, le=31)
    click_count: int = Field(0, ge=0, le=3, alias="clickCount")
    modifiers: Modifiers = 0
    delta_x: float = Field(0.0, alias="deltaX", ge=-10_000, le=10_000)
    delta_y: float = Field(0.0, alias="deltaY", ge=-10_000, le=10_000)


class Tap(_Pointer):
    """A tap on a touch screen: a left click at that point."""

    type: Literal["tap"]


class Key(_Message):
    type: Literal["key"]
    action: Literal["down", "up"]
    key: str = Field(max_length=64)
    code: str = Field("", max_length=64)
    text: str = Field("", max_length=8)
    """What the key types with the person's layout; empty for shortcuts and non-printing keys."""
    modifiers: Modifiers = 0
    key_code: int = Field(0, alias="keyCode", ge=0, le=255)
    location: int = Field(0, ge=0, le=3)
    repeat: bool = False


class Text(_Message):
    """Text typed through the phone keyboard or an input method: ``Input.insertText``."""

    type: Literal["text"]
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class Paste(_Message):
    """Text from the person's clipboard, inserted at the page's caret."""

    type: Literal["paste"]
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class SwitchTab(_Message):
    type: Literal["switch_tab"]
    index: int = Field(ge=0)


class DialogAnswer(_Message):
    type: Literal["dialog_answer"]
    id: str = Field(max_length=32)
    accept: bool
    text: str | None = Field(None, max_length=MAX_TEXT)


class Resize(_Message):
    type: Literal["resize"]
    width: int = Field(ge=50, le=8192)
    height: int = Field(ge=50, le=8192)


class Done(_Message):
    type: Literal["done"]


class Reject(_Message):
    type: Literal["reject"]
    reason: str


ViewerMessage = Annotated[
    Mouse | Tap | Key | Text | Paste | SwitchTab | DialogAnswer | Resize | Done | Reject,
    Field(discriminator="type"),
]
INPUT_MESSAGES = (Mouse, Tap, Key, Text, Paste)
"""Messages relayed to the page as input events (queued, see ``session``)."""

_viewer_message: TypeAdapter[ViewerMessage] = TypeAdapter(ViewerMessage)


class BadMessage(ValueError):
    """A websocket message that is not JSON or does not match a known message."""


def parse_viewer_message(raw: str) -> ViewerMessage:
    try:
        return _viewer_message.validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}"
            for err in exc.errors()[:3]
        )
        raise BadMessage(f"unreadable message {raw[:80]!r}: {problems}") from exc


def parse_hello(raw: str) -> Hello:
    try:
        return Hello.model_validate_json(raw)
    except ValidationError as exc:
        raise BadMessage('the first message must be {"token": ...}') from exc


def clean_reason(reason: object) -> str:
    """The person's reason for "I can't do this", trimmed; ``ValueError`` if empty or long."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("Please say why you cannot do it.")
    text = reason.strip()
    if len(text) > MAX_REASON:
        raise ValueError(f"Please keep the reason under {MAX_REASON} characters ({len(text)}).")
    return text
