"""The pause service: what a ``human_in_loop_action`` does between "paused" and "resumed".

For each pause (shared/HITL.md, "The flow"):

1. open a ``Pause`` with the coordinator; its deadline is ``max_wait_time`` capped by what is
   left of the run's time limit;
2. mint the signed link and record ``hitl_requested``;
3. notify in a background task (a slow or dead SMTP server never delays the pause or its
   deadline): SMTP when configured and someone is to be told, else an ``.eml`` file in the
   run folder plus the link on the terminal;
4. await the pause (Done, "I can't do this", deadline or the run ending);
5. give the run back on the tab the person was viewing, record the outcome, and raise the
   HITL exception unless the person pressed Done.

The link is a bearer credential: it is printed on the terminal and put in the message, and is
registered with the run's redactor so no event or result can ever carry it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from playwright.async_api import Error as PlaywrightError

from optexity_runner.context import StepContext
from optexity_runner.errors import (
    HumanInLoopRejectedException,
    HumanInLoopTimeoutException,
    RunError,
)
from optexity_runner.mail import (
    MailDeliveryError,
    Mailer,
    PauseNotice,
    build_message,
    deadline_text,
    save_eml,
)
from optexity_runner.pause import Pause, PauseCoordinator, PauseOutcome, Resolution
from optexity_runner.result import PauseRecord
from optexity_runner.run_store import RunStore
from optexity_runner.settings import RunnerSettings
from optexity_runner.tokens import LinkSigner, PauseRef, link_for
from schemas import HumanInLoopAction

#: Reading the page title for the message must not hold the notification up for long.
PAGE_FACTS_TIMEOUT = 2.0

Announce = Callable[[str], None]


@dataclass(frozen=True)
class PauseServices:
    """What every run of the process shares: coordinator, signer, live view address, mail.

    ``mailer`` None means no SMTP is configured: messages become ``.eml`` files.
    ``announce`` prints one plain-text line on the operator's terminal.
    """

    coordinator: PauseCoordinator
    signer: LinkSigner
    base_url: str
    settings: RunnerSettings
    mailer: Mailer | None
    announce: Announce


class HumanLoopService:
    """One run's pauses (the ``HumanLoop`` protocol); built per run by the CLI's wiring."""

    def __init__(self, services: PauseServices, run_id: str, name: str, store: RunStore) -> None:
        self.services = services
        self.run_id = run_id
        self.name = name
        self.store = store
        self._count = 0
        password = services.settings.smtp_password
        if password is not None:
            # Defence in depth: an SMTP error that echoed it must not reach the run folder.
            store.redactor.add(password.get_secret_value())

    async def pause(self, step: StepContext, action: HumanInLoopAction) -> None:
        """Block the run until the person presses Done; raise the HITL exceptions otherwise."""
        services, run = self.services, step.run
        loop = asyncio.get_running_loop()
        # The run's limit is on the loop clock; pauses (and people) use the wall clock.
        run_deadline = time.time() + (run.deadline - loop.time())
        pause = services.coordinator.open(
            run_id=run.run_id,
            node_index=step.index,
            automation_name=self.name,
            instructions=action.text_for_person,
            tabs=run.tabs,
            max_wait_time=action.max_wait_time,
            run_deadline=run_deadline,
        )
        try:
            record, notifying = self._request(step, action, pause)
        except BaseException:
            # Never leave an armed pause behind (it would keep the run's dialogs).
            pause.resolve(PauseOutcome.CANCELLED, "the pause could not be requested")
            await pause.release()
            raise
        try:
            resolution = await pause.wait()
        except asyncio.CancelledError:
            # The run's time limit (or shutdown) ended the wait: still record the pause.
            await self._finish(step, pause, record, notifying, pause.resolution)
            raise
        await self._finish(step, pause, record, notifying, resolution)
        _raise_unless_done(resolution, action, services.settings, record)

    def _request(
        self, step: StepContext, action: HumanInLoopAction, pause: Pause
    ) -> tuple[PauseRecord, asyncio.Task[None]]:
        """Link, record, ``hitl_requested``, terminal lines; start notifying in the background."""
        services = self.services
        self._count += 1
        token = services.signer.mint(PauseRef(pause.run_id, pause.pause_id))
        self.store.redactor.add(token)
        link = link_for(services.base_url, token)
        recipients = list(action.notify or services.settings.notify)
        by_mail = services.mailer is not None and bool(recipients)
        record = PauseRecord(
            pause_id=pause.pause_id,
            node_index=step.index,
            requested_at=_utc(pause.created_at),
            deadline=_utc(pause.deadline),
            recipients=recipients,
        )
        step.run.state.pauses.append(record)
        step.emit(
            "hitl_requested",
            pause_id=pause.pause_id,
            deadline=record.deadline.isoformat(),
            wait_seconds=round(pause.deadline - pause.created_at, 3),
            deadline_limit=pause.limit,
            recipients=recipients,
            channel="smtp" if by_mail else "eml",
        )
        services.announce(
            f"paused at node {step.index}: waiting for a person until "
            f"{deadline_text(record.deadline)} ({pause.seconds_left():.0f} s)"
        )
        eml_name = f"pause-{self._count}.eml"
        if not by_mail:
            # Nobody will get a mail: the terminal is the way to the link, at once.
            why = "no SMTP configured" if services.mailer is None else "no --notify address"
            services.announce(f"  open the live view: {link}")
            services.announce(f"  ({why}: message saved as {self.store.path(eml_name)})")
        notifying = asyncio.create_task(
            self._notify(step, action, pause, record, link, None if by_mail else eml_name)
        )
        return record, notifying

    async def _finish(
        self,
        step: StepContext,
        pause: Pause,
        record: PauseRecord,
        notifying: asyncio.Task[None],
        resolution: Resolution | None,
    ) -> None:
        if record.recipients and self.services.mailer is not None:
            # A mail still on its way would only carry a dead link; an .eml is local and
            # quick, so it is always finished (the operator may want to read it later).
            notifying.cancel()
        await asyncio.wait([notifying])
        await pause.release()
        viewed = pause.viewed_page
        if viewed is not None and not viewed.is_closed() and viewed in step.run.tabs.pages:
            step.run.tabs.switch(viewed)
        if resolution is None:  # cancelled before Pause.wait could record it
            resolution = pause.resolve(PauseOutcome.CANCELLED, "the run ended while paused")
        record.outcome = resolution.outcome.value
        record.limit = resolution.limit
        record.reason = resolution.reason
        record.waited_seconds = round(resolution.at - pause.created_at, 3)
        step.emit(
            "hitl_resolved",
            pause_id=pause.pause_id,
            outcome=record.outcome,
            waited_seconds=record.waited_seconds,
            limit=record.limit,
            reason=record.reason,
        )
        self.services.announce(
            f"pause at node {step.index}: {resolution.outcome.value.replace('_', ' ')} "
            f"after {record.waited_seconds:.1f} s"
        )

    async def _notify(
        self,
        step: StepContext,
        action: HumanInLoopAction,
        pause: Pause,
        record: PauseRecord,
        link: str,
        eml_name: str | None,
    ) -> None:
        """Send (or save) the message; every ending is an event, none ends the pause."""
        services = self.services
        channel = "smtp" if eml_name is None and services.mailer is not None else "eml"
        try:
            title, url = await _page_facts(pause)
            redact = self.store.redactor.text
            instructions = action.text_for_person
            notice = PauseNotice(
                automation_name=redact(self.name),
                instructions=redact(instructions) if instructions else None,
                page_title=redact(title),
                page_url=redact(url),
                deadline=record.deadline,
                link=link,
                run_id=self.run_id,
                node_index=step.index,
            )
            message = build_message(
                notice, sender=services.settings.mail_from, recipients=record.recipients
            )
            if channel == "eml" or services.mailer is None:
                path = save_eml(message, self.store.path(eml_name or "pause.eml"))
                record.notified, record.channel = True, "eml"
                step.emit("hitl_notified", pause_id=pause.pause_id, channel="eml", file=path.name)
                return
            await services.mailer.send(message)
        except MailDeliveryError as exc:
            step.emit(
                "hitl_notification_failed",
                pause_id=pause.pause_id,
                channel="smtp",
                tries=exc.tries,
                error=str(exc),
            )
            services.announce(f"  mail not sent ({exc}); open the live view: {link}")
            return
        except OSError as exc:  # the .eml could not be written; the link is on the terminal
            step.emit(
                "hitl_notification_failed", pause_id=pause.pause_id, channel="eml", error=str(exc)
            )
            return
        except asyncio.CancelledError:
            step.emit(
                "hitl_notification_failed",
                pause_id=pause.pause_id,
                channel=channel,
                error="the pause ended before the message was sent",
            )
            raise
        except Exception as exc:
            # Anything else (a header EmailMessage refuses, no tab to describe, a mailer's
            # own bug) must not end this task silently: the person would never get the link.
            error = f"{type(exc).__name__}: {exc}"
            step.emit(
                "hitl_notification_failed", pause_id=pause.pause_id, channel=channel, error=error
            )
            if channel == "smtp":  # on the .eml path the link is on the terminal already
                services.announce(f"  mail not sent ({error}); open the live view: {link}")
            else:
                services.announce(f"  message not saved ({error})")
            return
        record.notified, record.channel = True, "smtp"
        step.emit(
            "hitl_notified", pause_id=pause.pause_id, channel="smtp", recipients=record.recipients
        )
        services.announce(f"  link mailed to {', '.join(record.recipients)}")


async def _page_facts(pause: Pause) -> tuple[str, str]:
    """Title and URL of the tab the person will see first (title best effort)."""
    page = pause.viewed_page or pause.tabs.current
    try:
        title = await asyncio.wait_for(page.title(), PAGE_FACTS_TIMEOUT)
    except (PlaywrightError, TimeoutError):
        title = ""
    return title, page.url


def _raise_unless_done(
    resolution: Resolution,
    action: HumanInLoopAction,
    settings: RunnerSettings,
    record: PauseRecord,
) -> None:
    if resolution.outcome is PauseOutcome.DONE:
        return
    if resolution.outcome is PauseOutcome.TIMED_OUT:
        limit = resolution.limit or "max_wait_time"
        if limit == "run_time_limit":
            message = (
                f"the run's time limit ({settings.run_time_limit:g} s) ended the pause after "
                f"{record.waited_seconds:.1f} s, before anyone pressed Done"
            )
        else:
            message = f"no one pressed Done within max_wait_time ({action.max_wait_time:g} s)"
        raise HumanInLoopTimeoutException(message, limit=limit)
    if resolution.outcome is PauseOutcome.REJECTED:
        reason = resolution.reason or "no reason given"
        raise HumanInLoopRejectedException(f"the person could not do it: {reason}")
    raise RunError(f"the pause was cancelled: {resolution.reason or 'no reason given'}")


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
