"""The run folder: ``events.jsonl``, ``result.json``, screenshots, downloads, trace.

Everything written passes through the run's ``Redactor``, so a secret that reached a page,
an error message or an extracted value is written as ``[secret]``.
"""

from __future__ import annotations

import json
import secrets
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from optexity_runner.result import RunResult
from optexity_runner.variables import Redactor

EventListener = Callable[[dict[str, Any]], None]


def new_run_id() -> str:
    """Sortable and unique: ``20261121-053012-3f9a1c``."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class RunStore:
    """Writes one run's folder; listeners (the CLI's live lines) see every event."""

    def __init__(self, out_dir: Path, run_id: str, redactor: Redactor) -> None:
        self.run_id = run_id
        self.dir = out_dir / run_id
        self.dir.mkdir(parents=True, exist_ok=False)
        self.downloads_dir = self.dir / "downloads"
        self.redactor = redactor
        self._events = (self.dir / "events.jsonl").open("a", encoding="utf-8")
        self._listeners: list[EventListener] = []

    def subscribe(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        """Record an event (past-tense name) with a timestamp; returns the redacted record."""
        record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event}
        record.update(self.redactor.data(fields))
        self._events.write(json.dumps(record, default=str) + "\n")
        self._events.flush()
        for listener in self._listeners:
            listener(record)
        return record

    def path(self, name: str) -> Path:
        """A file inside the run folder (the name is reduced to its last component)."""
        return self.dir / Path(name).name

    def write_result(self, result: RunResult) -> RunResult:
        """Write ``result.json`` atomically; return the redacted result that was written."""
        path = self.dir / "result.json"
        data = self.redactor.data(result.model_dump(mode="json"))
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        return RunResult.model_validate(data)

    def redact_archive(self, name: str) -> None:
        """Rewrite a zip in the run folder (a Playwright trace) with secrets replaced.

        Text entries (trace events, network log, HTML snapshots) are redacted; images are
        kept as they are (password fields render as dots).
        """
        path = self.path(name)
        if not path.exists() or not self.redactor.active:
            return
        tmp = path.with_suffix(".redacting")
        with (
            zipfile.ZipFile(path) as source,
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out,
        ):
            for info in source.infolist():
                out.writestr(info, self.redactor.binary(source.read(info)))
        tmp.replace(path)

    @property
    def closed(self) -> bool:
        """True once the run has finished and its events file is closed."""
        return self._events.closed

    def close(self) -> None:
        self._events.close()
