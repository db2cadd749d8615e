"""Pause links: bound to one pause, tamper-evident, dead after their age."""

from __future__ import annotations

import time

import pytest

from optexity_runner.tokens import LinkSigner, PauseRef, TokenError, TokenProblem, link_for


def test_token_names_its_pause() -> None:
    signer = LinkSigner("k" * 32)
    token = signer.mint(PauseRef("run-1", "pause-a"))
    assert signer.verify(token, 60) == PauseRef("run-1", "pause-a")


def test_tampered_token_is_invalid() -> None:
    signer = LinkSigner("k" * 32)
    token = signer.mint(PauseRef("run-1", "pause-a"))
    # Change a character in the middle: the last one can carry only padding bits.
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    with pytest.raises(TokenError) as info:
        signer.verify(tampered, 60)
    assert info.value.problem is TokenProblem.INVALID


def test_token_from_another_key_is_invalid() -> None:
    token = LinkSigner("a" * 32).mint(PauseRef("run-1", "pause-a"))
    with pytest.raises(TokenError) as info:
        LinkSigner("b" * 32).verify(token, 60)
    assert info.value.problem is TokenProblem.INVALID


def test_random_keys_differ_per_signer() -> None:
    token = LinkSigner().mint(PauseRef("run-1", "pause-a"))
    with pytest.raises(TokenError):
        LinkSigner().verify(token, 60)


def test_old_token_is_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = LinkSigner("k" * 32)
    token = signer.mint(PauseRef("run-1", "pause-a"))
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 120)  # the clock: two minutes on
    with pytest.raises(TokenError) as info:
        signer.verify(token, 60)
    assert info.value.problem is TokenProblem.EXPIRED
    assert signer.peek(token) == PauseRef("run-1", "pause-a")


def test_link_carries_the_token_in_the_fragment() -> None:
    assert link_for("https://runner.example.com/", "abc.def") == (
        "https://runner.example.com/live#abc.def"
    )
