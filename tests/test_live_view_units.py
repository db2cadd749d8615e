"""Pure parts of the live view: coordinate mapping, input parameters, frames, sentences."""

from __future__ import annotations

import asyncio
import time

import pytest

from optexity_runner.pause import PauseOutcome, Resolution
from stream_ui.access import ended_sentence
from stream_ui.frames import Frame, FrameMeta, FrameSlot, decode_frame_message
from stream_ui.input_mapping import (
    PagePoint,
    document_point,
    key_params,
    mouse_params,
    tap_params,
    to_page_point,
)
from stream_ui.messages import (
    BadMessage,
    Key,
    Mouse,
    Tap,
    clean_reason,
    parse_viewer_message,
)

DESKTOP = FrameMeta(device_width=1280, device_height=720)


def test_point_maps_at_half_scale() -> None:
    # The 1280x720 page shown at 640x360: every viewer pixel is two page pixels.
    assert to_page_point(320, 180, 640, 360, DESKTOP) == PagePoint(640, 360)
    assert to_page_point(10, 20, 640, 360, DESKTOP) == PagePoint(20, 40)


def test_point_maps_on_a_phone_sized_viewer() -> None:
    # A 390x844 phone shows the 1280x720 page across its width (366 px with margins).
    shown_width = 366.0
    shown_height = shown_width * 720 / 1280
    point = to_page_point(183, shown_height / 2, shown_width, shown_height, DESKTOP)
    assert point.x == pytest.approx(640)
    assert point.y == pytest.approx(360)
    corner = to_page_point(
        shown_width * 0.25, shown_height * 0.75, shown_width, shown_height, DESKTOP
    )
    assert (corner.x, corner.y) == pytest.approx((320, 540))


def test_point_maps_a_phone_sized_page_shown_smaller() -> None:
    phone_page = FrameMeta(device_width=390, device_height=844)
    assert to_page_point(97.5, 211, 195, 422, phone_page) == PagePoint(195, 422)


def test_point_mapping_removes_top_controls_and_clamps() -> None:
    with_controls = FrameMeta(device_width=400, device_height=800, offset_top=56)
    assert to_page_point(200, 200, 200, 400, with_controls) == PagePoint(400 - 1, 400 - 56)
    outside = to_page_point(-30, 900, 640, 360, DESKTOP)
    assert outside == PagePoint(0, 719)


def test_point_mapping_rejects_an_empty_image() -> None:
    with pytest.raises(ValueError, match="0x360"):
        to_page_point(1, 1, 0, 360, DESKTOP)


def test_document_point_applies_scroll_and_pinch_zoom() -> None:
    zoomed = FrameMeta(
        device_width=1280, device_height=720, page_scale_factor=2, scroll_offset_y=500
    )
    assert document_point(PagePoint(100, 100), zoomed) == PagePoint(50, 550)


def test_mouse_down_becomes_a_left_press_at_page_pixels() -> None:
    message = Mouse.model_validate(
        {"type": "mouse", "action": "down", "x": 100, "y": 50, "width": 640, "height": 360}
    )
    params = mouse_params(message, DESKTOP)
    assert params == {
        "type": "mousePressed",
        "x": 200.0,
        "y": 100.0,
        "modifiers": 0,
        "button": "left",
        "buttons": 1,
        "clickCount": 1,
    }


def test_wheel_carries_deltas_and_no_button() -> None:
    message = Mouse.model_validate(
        {"type": "mouse", "action": "wheel", "x": 0, "y": 0, "width": 640, "height": 360,
         "deltaY": 120, "button": "left"}
    )  # fmt: skip
    params = mouse_params(message, DESKTOP)
    assert params["type"] == "mouseWheel"
    assert (params["deltaX"], params["deltaY"], params["button"]) == (0, 120, "none")


def test_tap_is_a_click_at_the_mapped_point() -> None:
    tap = Tap.model_validate({"type": "tap", "x": 195, "y": 100, "width": 390, "height": 219.375})
    kinds = [(p["type"], p["x"], p["y"]) for p in tap_params(tap, DESKTOP)]
    assert kinds == [
        ("mouseMoved", 640.0, 328.21),
        ("mousePressed", 640.0, 328.21),
        ("mouseReleased", 640.0, 328.21),
    ]


def test_printable_key_types_its_text_and_shortcut_does_not() -> None:
    letter = key_params(Key.model_validate({"type": "key", "action": "down", "key": "é"}))
    assert (letter["type"], letter["text"]) == ("keyDown", "é")
    shortcut = key_params(
        Key.model_validate({"type": "key", "action": "down", "key": "a", "modifiers": 2})
    )
    assert shortcut["type"] == "rawKeyDown"
    assert "text" not in shortcut
    enter = key_params(
        Key.model_validate({"type": "key", "action": "down", "key": "Enter", "keyCode": 13})
    )
    assert (enter["text"], enter["windowsVirtualKeyCode"]) == ("\r", 13)
    up = key_params(Key.model_validate({"type": "key", "action": "up", "key": "a", "text": "a"}))
    assert up["type"] == "keyUp"
    assert "text" not in up


def test_unknown_or_malformed_messages_are_refused_with_the_value() -> None:
    with pytest.raises(BadMessage, match="teleport"):
        parse_viewer_message('{"type": "teleport"}')
    with pytest.raises(BadMessage, match="not json"):
        parse_viewer_message("not json")
    with pytest.raises(BadMessage, match="width"):
        parse_viewer_message('{"type": "tap", "x": 1, "y": 1, "width": 0, "height": 5}')


def test_reason_is_required_and_bounded() -> None:
    assert clean_reason("  no code arrived ") == "no code arrived"
    with pytest.raises(ValueError, match="say why"):
        clean_reason("   ")
    with pytest.raises(ValueError, match="501"):
        clean_reason("x" * 501)


def _frame(seq: int) -> Frame:
    return Frame(seq=seq, tab=0, jpeg=b"\xff\xd8jpeg%d" % seq, meta=DESKTOP)


def test_frame_message_is_length_prefixed_json_then_jpeg() -> None:
    header, jpeg = decode_frame_message(_frame(7).message)
    assert jpeg == b"\xff\xd8jpeg7"
    assert header == {
        "seq": 7,
        "tab": 0,
        "deviceWidth": 1280,
        "deviceHeight": 720,
        "pageScaleFactor": 1.0,
        "offsetTop": 0.0,
        "scrollOffsetX": 0.0,
        "scrollOffsetY": 0.0,
    }


async def test_slow_viewer_gets_the_latest_frame_not_a_queue() -> None:
    slot = FrameSlot()
    for seq in range(1, 101):
        slot.put(_frame(seq))
    assert (await slot.take()).seq == 100
    assert slot.replaced == 99
    assert slot.peek() is None
    waiting = asyncio.ensure_future(slot.take())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    slot.put(_frame(101))
    assert (await asyncio.wait_for(waiting, 1)).seq == 101


@pytest.mark.parametrize(
    ("resolution", "expected"),
    [
        (Resolution(PauseOutcome.DONE, time.time()), "the person pressed Done at "),
        (
            Resolution(PauseOutcome.REJECTED, time.time(), "no code"),
            "could not do it at ",
        ),
        (Resolution(PauseOutcome.TIMED_OUT, time.time(), None, "max_wait_time"), "expired at "),
        (
            Resolution(PauseOutcome.TIMED_OUT, time.time(), None, "run_time_limit"),
            "the run reached its time limit at ",
        ),
    ],
)
def test_ended_sentence_says_how_and_when(resolution: Resolution, expected: str) -> None:
    sentence = ended_sentence(resolution)
    assert sentence.startswith("This pause has ended: ")
    assert expected in sentence
    assert time.strftime("%H:%M", time.localtime(resolution.at)) in sentence
