"""Who may act on a pause: every token-checked request and websocket message passes here.

A token names one pause of one run (``tokens.PauseRef``). It is good while its pause is
open; afterwards it is dead and the answer says why in a sentence for people (410). A token
signed with our key for a pause this process does not know (it ended and was forgotten, or
the runner restarted with the same ``OPTEXITY_SECRET_KEY``) is dead too (410, ``GONE``). A
token that does not verify is refused (403): a token of pause A can never act on pause B
because the pause is looked up from the token itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from optexity_runner.pause import Pause, PauseCoordinator, PauseOutcome, Resolution
from optexity_runner.tokens import LinkSigner, TokenError, TokenProblem

FORBIDDEN = "This link is not valid. Open the link from the message you received, unchanged."
INCOMPLETE = "This link is incomplete. Open the whole link from the message you received."
GONE = "This pause is no longer open on this runner (it ended, or the runner was restarted)."


class AccessDenied(Exception):
    """A refused request: ``status`` 401, 403 or 410, ``message`` one sentence for people.

    Raised by ``PauseAccess.authorize``; the app turns it into a JSON answer (HTTP) or an
    ``ended`` / ``denied`` message and a close (websocket).
    """

    def __init__(self, status: int, message: str, resolution: Resolution | None = None) -> None:
        self.status = status
        self.message = message
        self.resolution = resolution
        super().__init__(f"{status}: {message}")

    def as_json(self) -> dict[str, Any]:
        return {
            "detail": self.message,
            "status": self.status,
            "outcome": outcome_json(self.resolution) if self.resolution else None,
        }


class PauseAccess:
    """Checks tokens against the coordinator's pauses."""

    def __init__(
        self,
        coordinator: PauseCoordinator,
        signer: LinkSigner,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._coordinator = coordinator
        self._signer = signer
        self._clock = clock

    def authorize(self, token: str | None) -> Pause:
        """The open pause ``token`` names, or ``AccessDenied``.

        Synchronous on purpose: a caller that resolves the pause right after it returns does
        so in the same event-loop step, so nothing can resolve it in between.
        """
        if not token:
            raise AccessDenied(401, INCOMPLETE)
        try:
            ref = self._signer.peek(token)
        except TokenError as exc:
            raise AccessDenied(403, FORBIDDEN) from exc
        pause = self._coordinator.get(ref.run_id, ref.pause_id)
        if pause is None:
            # The signature is ours, so it is a real link whose pause is over for this process.
            raise AccessDenied(410, GONE)
        try:
            self._signer.verify(token, max_age_seconds=pause.deadline - pause.created_at)
        except TokenError as exc:
            if exc.problem is not TokenProblem.EXPIRED:
                raise AccessDenied(403, FORBIDDEN) from exc
            # The token outlives the deadline by less than a second (whole-second ages),
            # so an expired token means the deadline has passed: record it if the timer
            # has not fired yet.
            pause.resolve(PauseOutcome.TIMED_OUT)
        if pause.is_open and self._clock() >= pause.deadline:
            pause.resolve(PauseOutcome.TIMED_OUT)
        if pause.resolution is not None:
            raise AccessDenied(410, ended_sentence(pause.resolution), pause.resolution)
        return pause


def clock_time(at: float) -> str:
    """``10:42 UTC``: the local time of the server, with its zone."""
    moment = datetime.fromtimestamp(at).astimezone()
    return f"{moment:%H:%M} {moment.tzname() or ''}".strip()


def ended_sentence(resolution: Resolution) -> str:
    """Why a pause is over, for the person holding a dead link."""
    when = clock_time(resolution.at)
    match resolution.outcome:
        case PauseOutcome.DONE:
            what = f"the person pressed Done at {when}"
        case PauseOutcome.REJECTED:
            what = f"the person said they could not do it at {when}"
            if resolution.reason:
                what += f" (“{resolution.reason}”)"
        case PauseOutcome.TIMED_OUT if resolution.limit == "run_time_limit":
            what = f"the run reached its time limit at {when}"
        case PauseOutcome.TIMED_OUT:
            what = f"it expired at {when}"
        case _:
            what = f"the run stopped at {when}"
    return f"This pause has ended: {what}."


def outcome_json(resolution: Resolution) -> dict[str, Any]:
    return {
        "outcome": resolution.outcome.value,
        "at": iso_time(resolution.at),
        "reason": resolution.reason,
        "limit": resolution.limit,
        "message": ended_sentence(resolution),
    }


def iso_time(at: float) -> str:
    return datetime.fromtimestamp(at).astimezone().isoformat(timespec="seconds")
