"""Signed magic links: a token bound to one pause of one run, dead after its deadline.

itsdangerous signs ``{run_id, pause_id}`` with the runner's key and a salt per purpose. The
payload is readable without the key, so it carries nothing secret. The token travels in the
URL fragment (``/live#<token>``): browsers never send fragments, so it stays out of access
logs, proxies and ``Referer``.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from enum import StrEnum

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PAUSE_SALT = "optexity-runner/pause-link/v1"


class TokenProblem(StrEnum):
    INVALID = "invalid"
    """Tampered, foreign key, malformed: answered 403."""
    EXPIRED = "expired"
    """Signed by us but past its max age: answered 410."""


@dataclass(frozen=True)
class PauseRef:
    run_id: str
    pause_id: str


class TokenError(Exception):
    """Raised by ``LinkSigner.verify``; ``problem`` says which kind."""

    def __init__(self, problem: TokenProblem) -> None:
        self.problem = problem
        super().__init__(problem.value)


class LinkSigner:
    """Mints and checks pause tokens. ``secret_key`` None: a random key for this process."""

    def __init__(self, secret_key: str | None = None) -> None:
        self._serializer = URLSafeTimedSerializer(
            secret_key or secrets.token_urlsafe(32), salt=PAUSE_SALT
        )

    def mint(self, ref: PauseRef) -> str:
        """A token naming one pause of one run, signed with this signer's key."""
        return self._serializer.dumps({"run_id": ref.run_id, "pause_id": ref.pause_id})

    def verify(self, token: str, max_age_seconds: float | None = None) -> PauseRef:
        """The pause a token names; ``TokenError`` if tampered, foreign or too old.

        itsdangerous counts whole seconds, so the age is rounded up; the pause's own deadline
        (checked by the caller) is the exact limit.
        """
        max_age = None if max_age_seconds is None else max(1, math.ceil(max_age_seconds))
        try:
            data = self._serializer.loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise TokenError(TokenProblem.EXPIRED) from exc
        except BadSignature as exc:
            raise TokenError(TokenProblem.INVALID) from exc
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("run_id", "pause_id")
        ):
            raise TokenError(TokenProblem.INVALID)
        return PauseRef(data["run_id"], data["pause_id"])

    def peek(self, token: str) -> PauseRef:
        """Verify the signature ignoring age (to tell 'expired' from 'foreign')."""
        return self.verify(token, None)


def link_for(public_base: str, token: str) -> str:
    """The URL a person opens: the token in the fragment, never in the path or query."""
    return f"{public_base.rstrip('/')}/live#{token}"
