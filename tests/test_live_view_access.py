"""The link's rules over HTTP (shared/HITL.md, "The link"), against a real server."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from support.live import LiveRig, eventually, ws_connect

from optexity_runner.pause import PauseOutcome
from optexity_runner.tokens import LinkSigner, PauseRef
from stream_ui import routes


def tamper(token: str) -> str:
    """Change one character in the middle (the last one may only hold padding bits)."""
    middle = len(token) // 2
    replacement = "A" if token[middle] != "A" else "B"
    return token[:middle] + replacement + token[middle + 1 :]


async def test_tampered_token_is_refused_with_403(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<p>paused</p>")
    async with rig.http() as http:
        answer = await http.post("/api/pause/done", headers=run.auth(tamper(run.token)))
        assert answer.status_code == 403
        assert answer.json()["detail"].startswith("This link is not valid")
        missing = await http.post("/api/pause/done")
        assert missing.status_code == 401
    assert run.pause.is_open


async def test_token_signed_with_another_key_is_refused(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<p>paused</p>")
    foreign = LinkSigner("another-runner").mint(PauseRef(run.pause.run_id, run.pause.pause_id))
    async with rig.http() as http:
        answer = await http.post("/api/pause/done", headers=run.auth(foreign))
    assert answer.status_code == 403
    assert run.pause.is_open


async def test_token_of_one_pause_cannot_act_on_another(rig: LiveRig) -> None:
    first = await rig.open_pause(html="<p>first</p>", run_id="run-a")
    second = await rig.open_pause(html="<p>second</p>", run_id="run-b")
    # Pointing the first token's signed payload at the second pause breaks the signature.
    payload, _, signature = first.token.partition(".")
    other_payload = second.token.partition(".")[0]
    grafted = other_payload + "." + signature
    async with rig.http() as http:
        assert (await http.post("/api/pause/done", headers=second.auth(grafted))).status_code == 403
        done = await http.post("/api/pause/done", headers=first.auth())
        assert done.status_code == 200
    assert payload != other_payload
    assert first.pause.resolution is not None
    assert first.pause.resolution.outcome is PauseOutcome.DONE
    assert second.pause.is_open


async def test_token_after_done_is_dead_with_a_sentence(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<p>paused</p>")
    async with rig.http() as http:
        first = await http.post("/api/pause/done", headers=run.auth())
        assert first.status_code == 200
        assert first.json()["outcome"]["outcome"] == "done"
        for method, path in (("GET", "/api/pause"), ("POST", "/api/pause/done")):
            again = await http.request(method, path, headers=run.auth())
            assert again.status_code == 410
            body = again.json()
            assert body["detail"].startswith("This pause has ended: the person pressed Done at ")
            assert body["outcome"]["outcome"] == "done"
            assert "Traceback" not in again.text


async def test_our_token_for_a_pause_this_runner_no_longer_knows_is_gone_410(
    rig: LiveRig,
) -> None:
    # What a runner restarted with the same OPTEXITY_SECRET_KEY sees for an old link.
    gone = rig.signer.mint(PauseRef("run-before-restart", "pause-1"))
    async with rig.http() as http:
        answer = await http.post("/api/pause/done", headers={"Authorization": f"Bearer {gone}"})
    assert answer.status_code == 410
    assert answer.json()["detail"] == (
        "This pause is no longer open on this runner (it ended, or the runner was restarted)."
    )
    assert answer.json()["outcome"] is None
    viewer = await ws_connect(rig, gone)
    message = await viewer.next_json()
    assert (message["type"], message["status"]) == ("ended", 410)
    await eventually(lambda: viewer.connection.close_code == 4410)


async def test_expired_pause_answers_410_expired(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<p>paused</p>", max_wait_time=0.3)
    await asyncio.sleep(0.4)
    async with rig.http() as http:
        answer = await http.post("/api/pause/done", headers=run.auth())
    assert answer.status_code == 410
    assert answer.json()["detail"].startswith("This pause has ended: it expired at ")
    assert run.pause.resolution is not None
    assert run.pause.resolution.outcome is PauseOutcome.TIMED_OUT


async def test_opening_the_link_changes_nothing(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<p>paused</p>")
    async with rig.http() as http:
        page = await http.get("/live")  # what a mail scanner fetches: the fragment is not sent
        script = await http.get("/static/live.js")
        state = await http.get("/api/pause", headers=run.auth())
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "'self'" in page.headers["content-security-policy"]
    assert script.status_code == 200
    assert "location.hash" in script.text
    assert state.status_code == 200
    assert run.pause.is_open
    assert rig.viewer_events == []
    assert rig.hub(run) is None  # no screencast, not even a CDP session


async def test_state_describes_the_pause(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<title>Sign in</title><p>x</p>")
    async with rig.http() as http:
        state = (await http.get("/api/pause", headers=run.auth())).json()
    assert state["automation"] == "Submit claim CLM-1001"
    assert state["instructions"] == "Sign in, then press Done."
    assert state["node_index"] == "3"
    assert 28 < state["seconds_left"] <= 30
    assert state["outcome"] is None
    assert state["tabs"] == [{"index": 0, "title": "Sign in", "url": "about:blank", "viewed": True}]
    assert state["dialogs"] == []
    assert state["file_choosers"] == []


async def test_two_concurrent_done_record_one_outcome(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<p>paused</p>")
    async with rig.http() as http:
        answers = await asyncio.gather(
            http.post("/api/pause/done", headers=run.auth()),
            http.post("/api/pause/done", headers=run.auth()),
        )
    assert sorted(answer.status_code for answer in answers) == [200, 410]
    winner = next(a for a in answers if a.status_code == 200).json()["outcome"]
    loser = next(a for a in answers if a.status_code == 410).json()["outcome"]
    assert loser == winner  # the loser gets the recorded outcome back
    assert run.pause.resolution is not None
    assert run.pause.resolution.outcome is PauseOutcome.DONE


async def test_done_over_http_and_websocket_race_to_one_outcome(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<p>paused</p>")
    viewer = await ws_connect(rig, run.token)
    assert (await viewer.next_json())["type"] == "hello"  # always first
    async with rig.http() as http:
        await viewer.send({"type": "reject", "reason": "the code never came"})
        answer = await http.post("/api/pause/done", headers=run.auth())
    ended = await viewer.next_json("ended")
    assert run.pause.resolution is not None
    recorded = run.pause.resolution.outcome.value
    assert ended["type"] == "ended"
    assert ended["outcome"]["outcome"] == recorded
    assert (answer.status_code == 200) == (recorded == "done")
    await viewer.connection.close()


async def test_reject_needs_a_reason_and_records_it(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<p>paused</p>")
    async with rig.http() as http:
        for body in ({}, {"reason": "   "}, {"reason": "x" * 501}):
            refused = await http.post("/api/pause/reject", headers=run.auth(), json=body)
            assert refused.status_code == 422, body
            assert "Please" in refused.json()["detail"]
        assert run.pause.is_open
        answer = await http.post(
            "/api/pause/reject", headers=run.auth(), json={"reason": " No OTP arrived "}
        )
    assert answer.status_code == 200
    assert answer.json()["outcome"]["outcome"] == "rejected"
    assert run.pause.resolution is not None
    assert run.pause.resolution.outcome is PauseOutcome.REJECTED
    assert run.pause.resolution.reason == "No OTP arrived"


async def test_websocket_with_bad_token_is_closed_with_a_reason(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<p>paused</p>")
    viewer = await ws_connect(rig, tamper(run.token))
    message = await viewer.next_json()
    assert message["type"] == "denied"
    assert message["status"] == 403
    await eventually(lambda: viewer.connection.close_code is not None)
    assert viewer.connection.close_code == 4403
    assert rig.viewer_events == []


async def test_websocket_hears_the_end_and_closes(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<p>paused</p>")
    viewer = await ws_connect(rig, run.token)
    hello = await viewer.next_json()
    assert hello["type"] == "hello"
    assert hello["state"]["automation"] == "Submit claim CLM-1001"
    await eventually(lambda: (run.pause.pause_id, "connected") in rig.viewer_events)
    run.pause.resolve(PauseOutcome.REJECTED, "cannot reach the phone")
    ended = await viewer.next_json("ended")
    assert ended["type"] == "ended"
    assert ended["status"] == 410
    assert "could not do it" in ended["message"]
    assert "cannot reach the phone" in ended["message"]
    await eventually(lambda: viewer.connection.close_code == 4410)
    await eventually(lambda: (run.pause.pause_id, "disconnected") in rig.viewer_events)


async def test_chunked_upload_over_the_limit_is_refused_before_it_is_all_read(
    rig: LiveRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "MAX_UPLOAD_BYTES", 4096)
    monkeypatch.setattr(routes, "MULTIPART_OVERHEAD", 1024)
    run = await rig.open_pause(html="<p>paused</p>")
    host, port = rig.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = (
        "POST /api/pause/files HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: Bearer {run.token}\r\n"
        "Content-Type: multipart/form-data; boundary=b0undary\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    part = b"--b0undary\r\nContent-Disposition: form-data; name=files; filename=a.bin\r\n\r\n"
    writer.write(request.encode() + b"%x\r\n%s\r\n" % (len(part), part))
    for _ in range(8):  # 8 KB of the file, and no last chunk: the body never ends
        writer.write(b"400\r\n" + b"x" * 1024 + b"\r\n")
    await writer.drain()
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
        assert length is not None, head
        body = await asyncio.wait_for(reader.readexactly(int(length[1])), 3)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 413"), head
    assert json.loads(body)["detail"].startswith("The files are too large")
    assert run.pause.is_open


async def test_upload_for_a_chooser_that_is_not_pending_is_409(rig: LiveRig) -> None:
    run = await rig.open_pause(html="<p>paused</p>")
    async with rig.http() as http:
        answer = await http.post(
            "/api/pause/files",
            headers=run.auth(),
            data={"chooser_id": "f99"},
            files={"files": ("a.txt", b"hello", "text/plain")},
        )
    assert answer.status_code == 409
    assert answer.json()["detail"] == "The page no longer waits for a file."
