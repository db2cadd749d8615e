"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepts, and reading mail."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


class Inbox:
    """An aiosmtpd handler that keeps what it accepts; ``refuse`` injects SMTP replies."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.arrived = asyncio.Event()
        self.refuse: list[str] = []
        """Replies to DATA, used one per message before accepting (e.g. "451 later")."""
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        self.envelopes.append(envelope)
        self.arrived.set()
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        """Every accepted message, parsed as a mail client would."""
        parsed = []
        for envelope in self.envelopes:
            raw = envelope.original_content or envelope.content
            assert isinstance(raw, bytes)
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret-pw", handled=False)


@asynccontextmanager
async def smtp_server(inbox: Inbox, **options: Any) -> AsyncIterator[int]:
    """aiosmtpd in the test's own event loop on a free loopback port; yields the port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(inbox, hostname="127.0.0.1", **options), "127.0.0.1", 0
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def body_text(message: EmailMessage) -> str:
    """The plain-text body of ``message``."""
    part = message.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content
