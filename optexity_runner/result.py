"""The record of a run: ``result.json``'s shape, built up by the interpreter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

RunStatus = Literal["success", "failed", "timed_out"]
NodeStatus = Literal["success", "failed", "skipped", "optional_step_skipped"]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ErrorRecord(BaseModel):
    type: str
    message: str
    exit_code: int = 1
    """The CLI's exit code for this error (README, "Exit codes")."""
    node_index: str | None = None
    command: str | None = None
    screenshot: str | None = None
    limit: str | None = None
    """Which limit ended the run, for timeouts: ``max_wait_time`` or ``run_time_limit``."""


class NodeRecord(BaseModel):
    index: str
    """Position in the file: ``3`` for ``nodes[3]``, ``5.0`` for a loop body's first node."""
    attempt: int = 1
    type: str
    action: str | None = None
    command: str | None = None
    iteration: list[int] = Field(default_factory=list)
    status: NodeStatus
    tries: int = 0
    started_at: datetime
    duration_ms: float
    error: str | None = None


class PauseRecord(BaseModel):
    pause_id: str
    node_index: str
    requested_at: datetime
    deadline: datetime
    outcome: Literal["done", "rejected", "timed_out", "cancelled"] | None = None
    limit: str | None = None
    reason: str | None = None
    waited_seconds: float | None = None
    notified: bool = False
    """The message went out: mailed (``channel`` smtp) or saved as ``.eml`` (``channel`` eml)."""
    channel: Literal["smtp", "eml"] | None = None
    recipients: list[str] = Field(default_factory=list)


class DownloadRecord(BaseModel):
    path: str
    suggested_filename: str
    url: str | None = None
    node_index: str | None = None
    attempt: int = 1
    metadata: dict[str, Any] | None = None


class AttemptRecord(BaseModel):
    attempt: int
    status: RunStatus
    started_at: datetime
    duration_s: float
    error: ErrorRecord | None = None


class RunResult(BaseModel):
    run_id: str
    automation: str
    automation_description: str | None = None
    automation_endpoint: str | None = None
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    duration_s: float
    error: ErrorRecord | None = None
    attempts: list[AttemptRecord] = Field(default_factory=list)
    nodes: list[NodeRecord] = Field(default_factory=list)
    pauses: list[PauseRecord] = Field(default_factory=list)
    outputs: dict[str, Any] = Field(default_factory=dict)
    downloads: list[DownloadRecord] = Field(default_factory=list)
    final_screenshot: str | None = None
    trace: str | None = None
    warnings: list[str] = Field(default_factory=list)
    run_dir: str
