"""The pause message and its delivery: content, SMTP against aiosmtpd on loopback, retries."""

from __future__ import annotations

import email
import email.policy
import os
import ssl
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from support.mail import Inbox, smtp_server
from support.net import closed_port

from optexity_runner.mail import (
    MailDeliveryError,
    PauseNotice,
    SmtpMailer,
    build_message,
    deadline_text,
    save_eml,
)
from optexity_runner.settings import RunnerSettings

LINK = "http://127.0.0.1:9999/live#eyJydW5faWQiOiJyIn0.Zx9-tokentoken_abc"
DEADLINE = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def smtp_settings(tmp_path: Path, port: int, **fields: Any) -> RunnerSettings:
    return RunnerSettings(
        out_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=5, _env_file=None,
        **fields,
    )  # fmt: skip


def notice(**fields: Any) -> PauseNotice:
    values: dict[str, Any] = {
        "automation_name": "Sign in to <Acme> & read",
        "instructions": "Type the password\nthen press Done",
        "page_title": "Sign in · Acme",
        "page_url": "http://127.0.0.1:8765/login?next=/dashboard",
        "deadline": DEADLINE,
        "link": LINK,
        "run_id": "20300102-030000-abcdef",
        "node_index": "1",
    }
    values.update(fields)
    return PauseNotice(**values)


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text is not None
    assert html_part is not None
    text_content, html_content = text.get_content(), html_part.get_content()
    assert isinstance(text_content, str)
    assert isinstance(html_content, str)
    return text_content, html_content


class Sleeps:
    """A fake clock for retry waits: records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def test_message_has_text_and_html_with_everything_the_person_needs() -> None:
    now = DEADLINE - timedelta(minutes=5)
    message = build_message(notice(), sender="runner@acme.test", recipients=["a@b.test"], now=now)
    text, html_body = parts(message)
    assert message["Subject"] == "Action needed: Sign in to <Acme> & read"
    assert message["To"] == "a@b.test"
    assert message["From"] == "runner@acme.test"
    assert message["Message-ID"].endswith("@acme.test>")
    for needle in (
        "Sign in to <Acme> & read",
        "Type the password\nthen press Done",
        "Sign in · Acme",
        "http://127.0.0.1:8765/login?next=/dashboard",
        "2030-01-02 03:04:05 UTC",
        "in 5 min 0 s",
        LINK,
    ):
        assert needle in text, needle
    for needle in (
        "Sign in to &lt;Acme&gt; &amp; read",
        "Type the password<br>",
        "Sign in · Acme",
        "http://127.0.0.1:8765/login?next=/dashboard",
        "2030-01-02 03:04:05 UTC",
        f'href="{LINK}"',
    ):
        assert needle in html_body, needle
    assert "<Acme>" not in html_body


def test_deadline_is_shown_in_utc_whatever_the_zone() -> None:
    plus_two = datetime(2030, 1, 2, 5, 4, 5, tzinfo=UTC).astimezone(
        __import__("datetime").timezone(timedelta(hours=2))
    )
    assert deadline_text(plus_two) == "2030-01-02 05:04:05 UTC"


def test_message_without_instructions_or_title_still_reads() -> None:
    message = build_message(notice(instructions=None, page_title=""), sender="r@x", recipients=[])
    text, _ = parts(message)
    assert "What to do" not in text
    assert "(no title)" in text
    assert message["To"] is None


def test_long_names_are_shortened_in_the_subject_only() -> None:
    name = "x" * 200
    message = build_message(notice(automation_name=name), sender="r@x", recipients=["a@b.c"])
    assert len(message["Subject"]) < 100
    assert name in parts(message)[0]


@pytest.fixture
def server_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A TLS context for an SMTP server on 127.0.0.1 whose certificate this process trusts."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # read by the mailer's default context
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_eml_file_is_private_from_its_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = build_message(notice(), sender="r@x.test", recipients=[])
    # Without a chmod after the fact, what the file was created with is what it keeps.
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)
    old_umask = os.umask(0)
    try:
        created = save_eml(message, tmp_path / "pause-1.eml")
        existing = tmp_path / "pause-2.eml"
        existing.write_bytes(b"old")
        existing.chmod(0o644)
        replaced = save_eml(message, existing)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    assert stat.S_IMODE(replaced.stat().st_mode) == 0o600
    assert replaced.read_bytes() == message.as_bytes()


def test_eml_file_parses_back_and_is_private(tmp_path: Path) -> None:
    message = build_message(notice(), sender="r@x.test", recipients=[])
    path = save_eml(message, tmp_path / "pause-1.eml")
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert LINK in parts(parsed)[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_smtp_mailer_delivers_to_aiosmtpd(tmp_path: Path) -> None:
    inbox = Inbox()
    async with smtp_server(inbox) as port:
        settings = smtp_settings(tmp_path, port, mail_from="runner@acme.test")
        message = build_message(notice(), sender="runner@acme.test", recipients=["o@acme.test"])
        await SmtpMailer(settings).send(message)
    assert len(inbox.envelopes) == 1
    assert inbox.envelopes[0].mail_from == "runner@acme.test"
    assert inbox.envelopes[0].rcpt_tos == ["o@acme.test"]
    text, html_body = parts(inbox.messages()[0])
    assert LINK in text
    assert LINK in html_body


async def test_smtp_mailer_logs_in_with_user_and_password_over_starttls(
    tmp_path: Path, server_tls: ssl.SSLContext
) -> None:
    inbox = Inbox()
    options = {"tls_context": server_tls, "require_starttls": True}
    async with smtp_server(inbox, authenticator=inbox.authenticate, **options) as port:
        settings = smtp_settings(tmp_path, port, smtp_user="robot", smtp_password="s3cret-pw")
        await SmtpMailer(settings).send(build_message(notice(), sender="r@x", recipients=["o@x"]))
        wrong = smtp_settings(tmp_path, port, smtp_user="robot", smtp_password="nope")
        sleeps = Sleeps()
        with pytest.raises(MailDeliveryError) as failed:
            await SmtpMailer(wrong, sleep=sleeps).send(
                build_message(notice(), sender="r@x", recipients=["o@x"])
            )
    assert inbox.logins[0] == (b"robot", b"s3cret-pw")
    assert len(inbox.envelopes) == 1
    # A refused login is permanent (5xx): no retry, and the password is not in the message.
    assert failed.value.tries == 1
    assert sleeps.delays == []
    assert "nope" not in str(failed.value)


async def test_credentials_are_never_sent_to_a_server_without_starttls(tmp_path: Path) -> None:
    inbox = Inbox()  # no STARTTLS offered, and plaintext AUTH accepted
    async with smtp_server(inbox, authenticator=inbox.authenticate, auth_require_tls=False) as port:
        settings = smtp_settings(tmp_path, port, smtp_user="robot", smtp_password="s3cret-pw")
        sleeps = Sleeps()
        with pytest.raises(MailDeliveryError) as failed:
            await SmtpMailer(settings, sleep=sleeps).send(
                build_message(notice(), sender="r@x", recipients=["o@x"])
            )
        # Without credentials the same server still takes plain SMTP.
        await SmtpMailer(smtp_settings(tmp_path, port)).send(
            build_message(notice(), sender="r@x", recipients=["o@x"])
        )
    assert inbox.logins == []
    assert len(inbox.envelopes) == 1
    assert "does not offer STARTTLS" in str(failed.value)
    assert "only sent encrypted" in str(failed.value)
    assert failed.value.tries == 1  # retrying would not make the server offer it
    assert sleeps.delays == []


def test_notify_and_sender_cannot_add_mail_headers(tmp_path: Path) -> None:
    def settings(**fields: Any) -> RunnerSettings:
        return RunnerSettings(out_dir=tmp_path, _env_file=None, **fields)

    assert settings(notify="a@acme.test, b@acme.test").notify == ["a@acme.test", "b@acme.test"]
    for bad in (["owner@acme.test\r\nBcc: spy@evil.test"], ["owner"], ["a b@acme.test"]):
        with pytest.raises(ValidationError, match="notify"):
            settings(notify=bad)
    with pytest.raises(ValidationError, match="mail_from must be one line"):
        settings(mail_from="bot@acme.test\r\nBcc: spy@evil.test")
    assert settings(mail_from="Optexity <bot@acme.test>").mail_from == "Optexity <bot@acme.test>"


async def test_connection_refused_is_retried_then_reported(tmp_path: Path) -> None:
    port = closed_port()
    sleeps = Sleeps()
    mailer = SmtpMailer(smtp_settings(tmp_path, port), retry_delays=(0.5, 1.5), sleep=sleeps)
    with pytest.raises(MailDeliveryError) as failed:
        await mailer.send(build_message(notice(), sender="r@x", recipients=["o@x"]))
    assert failed.value.tries == 3
    assert sleeps.delays == [0.5, 1.5]
    assert f"127.0.0.1:{port}" in str(failed.value)
    assert "3 tries" in str(failed.value)


async def test_temporary_refusal_is_retried_until_accepted(tmp_path: Path) -> None:
    inbox = Inbox()
    inbox.refuse = ["451 4.3.0 try again later"]
    sleeps = Sleeps()
    async with smtp_server(inbox) as port:
        mailer = SmtpMailer(smtp_settings(tmp_path, port), sleep=sleeps)
        await mailer.send(build_message(notice(), sender="r@x", recipients=["o@x"]))
    assert len(inbox.envelopes) == 1
    assert len(sleeps.delays) == 1


async def test_permanent_refusal_is_not_retried(tmp_path: Path) -> None:
    inbox = Inbox()
    inbox.refuse = ["554 5.7.1 rejected", "554 5.7.1 rejected"]
    sleeps = Sleeps()
    async with smtp_server(inbox) as port:
        mailer = SmtpMailer(smtp_settings(tmp_path, port), sleep=sleeps)
        with pytest.raises(MailDeliveryError, match="554") as failed:
            await mailer.send(build_message(notice(), sender="r@x", recipients=["o@x"]))
    assert failed.value.tries == 1
    assert inbox.envelopes == []


async def test_starttls_requested_never_falls_back_to_plain_text(tmp_path: Path) -> None:
    inbox = Inbox()  # this server offers no STARTTLS
    async with smtp_server(inbox) as port:
        settings = smtp_settings(tmp_path, port, smtp_starttls=True)
        mailer = SmtpMailer(settings, sleep=Sleeps())
        with pytest.raises(MailDeliveryError):
            await mailer.send(build_message(notice(), sender="r@x", recipients=["o@x"]))
    assert inbox.envelopes == []


async def test_implicit_tls_requested_does_not_talk_plain_smtp(tmp_path: Path) -> None:
    inbox = Inbox()
    async with smtp_server(inbox) as port:
        settings = smtp_settings(tmp_path, port, smtp_ssl=True)
        mailer = SmtpMailer(settings, retry_delays=(0.01,), sleep=Sleeps())
        with pytest.raises(MailDeliveryError):
            await mailer.send(build_message(notice(), sender="r@x", recipients=["o@x"]))
    assert inbox.envelopes == []


def test_default_ports_follow_the_tls_mode(tmp_path: Path) -> None:
    def port_for(**fields: Any) -> int:
        settings = RunnerSettings(out_dir=tmp_path, smtp_host="mail.test", _env_file=None, **fields)
        return SmtpMailer(settings).port

    assert port_for() == 25
    assert port_for(smtp_starttls=True) == 587
    assert port_for(smtp_ssl=True) == 465
    assert port_for(smtp_port=2525) == 2525
