"""The pause notification: the message a person receives, and how it leaves the runner.

``build_message`` turns a ``PauseNotice`` into a multipart message (plain text first, HTML as
the alternative). ``SmtpMailer`` sends it with aiosmtplib, retrying transient failures;
``save_eml`` is the no-SMTP default, which writes the message into the run folder instead.
The link in the message is a bearer credential: it goes into the message and nowhere else
from here (no event, no log line).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

import aiosmtplib

from optexity_runner.errors import OptexityError
from optexity_runner.settings import RunnerSettings

#: Waits between tries; one more try than delays. Short on purpose: the pause is running and
#: the link is printed on the terminal when the mail cannot go out, so nothing waits for this.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.5, 1.5)

SUBJECT_NAME_LIMIT = 80


class MailDeliveryError(OptexityError):
    """Raised by ``SmtpMailer.send`` when every try failed; the pause records it and goes on.

    Never ends a run: ``hitl`` turns it into a ``hitl_notification_failed`` event.
    """

    def __init__(self, host: str, port: int, tries: int, cause: str) -> None:
        self.tries = tries
        self.cause = cause
        noun = "try" if tries == 1 else "tries"
        super().__init__(f"mail to {host}:{port} failed after {tries} {noun}: {cause}")


@dataclass(frozen=True)
class PauseNotice:
    """Everything a pause message says. Text fields are already redacted by the caller."""

    automation_name: str
    instructions: str | None
    page_title: str
    page_url: str
    deadline: datetime
    """Aware datetime; shown in UTC."""
    link: str
    run_id: str
    node_index: str


def deadline_text(deadline: datetime) -> str:
    """The deadline as people read it anywhere: absolute, in UTC."""
    return deadline.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def build_message(
    notice: PauseNotice,
    *,
    sender: str,
    recipients: Sequence[str],
    now: datetime | None = None,
) -> EmailMessage:
    """The pause message: plain text and HTML parts with the same content."""
    now = now or datetime.now(UTC)
    name = notice.automation_name
    short = name if len(name) <= SUBJECT_NAME_LIMIT else name[: SUBJECT_NAME_LIMIT - 1] + "…"
    message = EmailMessage()
    message["Subject"] = f"Action needed: {short}"
    message["From"] = sender
    if recipients:
        message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(now)
    # make_msgid() without a domain looks up the host's FQDN, which can stall offline.
    message["Message-ID"] = make_msgid("pause", domain=_domain_of(sender))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_text_body(notice, now))
    message.add_alternative(_html_body(notice, now), subtype="html")
    return message


def _domain_of(address: str) -> str:
    domain = address.rpartition("@")[2].strip(" >")
    return domain or "optexity-runner.localhost"


def _time_left(deadline: datetime, now: datetime) -> str:
    seconds = max(0, round((deadline - now).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _text_body(notice: PauseNotice, now: datetime) -> str:
    lines = [f"The automation “{notice.automation_name}” is paused and needs you.", ""]
    if notice.instructions:
        lines += ["What to do:", notice.instructions, ""]
    lines += [
        f"Page: {notice.page_title or '(no title)'}",
        f"      {notice.page_url}",
        f"Deadline: {deadline_text(notice.deadline)} (in {_time_left(notice.deadline, now)});"
        " after that the run fails.",
        "",
        "Open the live view, do what is asked in the browser, then press Done:",
        notice.link,
        "",
        "Opening the link changes nothing by itself. It is for this pause only and stops",
        "working when the pause ends. Do not forward it: whoever has it controls the browser.",
        "",
        f"Run {notice.run_id}, step {notice.node_index}.",
    ]
    return "\n".join(lines) + "\n"


def _html_body(notice: PauseNotice, now: datetime) -> str:
    e = html.escape
    instructions = ""
    if notice.instructions:
        body = e(notice.instructions).replace("\n", "<br>\n")
        instructions = f"<h2 style='font-size:15px'>What to do</h2>\n<p>{body}</p>\n"
    link = e(notice.link, quote=True)
    return f"""<!doctype html>
<html><body style="font-family:system-ui,sans-serif;max-width:36em;line-height:1.4">
<p>The automation <strong>{e(notice.automation_name)}</strong> is paused and needs you.</p>
{instructions}<table style="border-collapse:collapse">
<tr><th align="left" style="padding-right:1em">Page</th>
<td>{e(notice.page_title or "(no title)")}<br><code>{e(notice.page_url)}</code></td></tr>
<tr><th align="left" style="padding-right:1em">Deadline</th>
<td>{deadline_text(notice.deadline)} (in {_time_left(notice.deadline, now)}); after that the run
fails.</td></tr>
</table>
<p><a href="{link}" style="display:inline-block;padding:.6em 1.2em;background:#1d4ed8;
color:#fff;text-decoration:none;border-radius:6px">Open the live view</a></p>
<p>Do what is asked in the browser, then press <strong>Done</strong>. If the button does not
work, open this address: <br><code>{link}</code></p>
<p style="color:#555;font-size:13px">Opening the link changes nothing by itself. It is for this
pause only and stops working when the pause ends. Do not forward it: whoever has it controls the
browser.<br>Run {e(notice.run_id)}, step {e(notice.node_index)}.</p>
</body></html>
"""


def save_eml(message: EmailMessage, path: Path) -> Path:
    """Write ``message`` as an ``.eml`` file (the no-SMTP default); readable only by us.

    It holds a live link to the browser, so it is created with mode 0600 (never readable by
    other local users, not even between creating and writing it). An existing file is
    replaced; its mode is narrowed too.
    """
    data = message.as_bytes()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(file.fileno(), 0o600)  # a file that was already there keeps its old mode
        file.write(data)
    return path


class Mailer(Protocol):
    """Sends one message or raises ``MailDeliveryError``."""

    async def send(self, message: EmailMessage) -> None: ...


Sleep = Callable[[float], Awaitable[None]]


class SmtpMailer:
    """Sends through the configured SMTP server (aiosmtplib), retrying transient failures.

    Connection problems, timeouts and 4xx replies are retried after ``retry_delays``;
    5xx replies (bad address, refused sender, wrong password) are final at once.

    Credentials never travel in clear: with ``smtp_user`` / ``smtp_password`` set and neither
    ``smtp_ssl`` nor ``smtp_starttls``, the connection is upgraded with STARTTLS anyway, and
    a server that does not offer it fails the delivery (no retry) instead of getting a
    plaintext login.
    """

    def __init__(
        self,
        settings: RunnerSettings,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if settings.smtp_host is None:
            raise ValueError("SmtpMailer needs settings.smtp_host")
        self.host = settings.smtp_host
        self.port = settings.smtp_port or (
            465 if settings.smtp_ssl else 587 if settings.smtp_starttls else 25
        )
        self.sender = settings.mail_from
        self._credentials = settings.smtp_user is not None or settings.smtp_password is not None
        self.starttls = not settings.smtp_ssl and (settings.smtp_starttls or self._credentials)
        """Whether the connection is upgraded with STARTTLS (asked for, or for credentials)."""
        self._settings = settings
        self._delays = tuple(retry_delays)
        self._sleep = sleep

    @property
    def tries(self) -> int:
        """How many times one message is tried at most."""
        return len(self._delays) + 1

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to its ``To`` addresses; ``MailDeliveryError`` after the last try."""
        tries = 0
        while True:
            tries += 1
            try:
                await self._send_once(message)
                return
            except (aiosmtplib.SMTPException, OSError) as exc:
                cause = _describe(exc)
                if _is_permanent(exc) or tries > len(self._delays):
                    raise MailDeliveryError(self.host, self.port, tries, cause) from exc
            await self._sleep(self._delays[tries - 1])

    async def _send_once(self, message: EmailMessage) -> None:
        settings = self._settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=settings.smtp_ssl,
            # STARTTLS and the login are done below, where a missing STARTTLS gets its own
            # error (None here would upgrade only when offered: a silent plaintext fallback).
            start_tls=False,
            timeout=settings.smtp_timeout,
        )
        # Not ``async with client`` (nor ``aiosmtplib.send``): on cancellation their exit
        # sends QUIT and waits up to the timeout for a stalled server, which would hold the
        # pause's caller. Closing the socket is immediate.
        try:
            await client.connect()
            if self.starttls:
                await client.ehlo()
                if not client.supports_extension("starttls"):
                    raise _StartTlsUnavailable(self._credentials)
                await client.starttls()
            if settings.smtp_user is not None:
                await client.login(settings.smtp_user, password or "")
            await client.send_message(message, sender=self.sender)
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()  # the message is accepted; a failed goodbye changes nothing
        finally:
            client.close()


class _StartTlsUnavailable(aiosmtplib.SMTPException):
    """Raised by ``SmtpMailer._send_once`` when STARTTLS is needed and the server lacks it.

    Permanent (not retried): the server will not start offering it on the next try.
    ``send`` turns it into ``MailDeliveryError``.
    """

    def __init__(self, credentials: bool) -> None:
        if credentials:
            why = "SMTP credentials are only sent encrypted (smtp_ssl: a server with implicit TLS)"
        else:
            why = "smtp_starttls is set"
        super().__init__(f"the server does not offer STARTTLS, and {why}")


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, _StartTlsUnavailable | aiosmtplib.SMTPRecipientsRefused):
        return True
    return isinstance(exc, aiosmtplib.SMTPResponseException) and 500 <= exc.code < 600


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
