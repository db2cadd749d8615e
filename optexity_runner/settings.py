"""One settings object, built at the edge (the CLI) and passed down.

Every field can come from the environment as ``OPTEXITY_<FIELD>`` (for example
``OPTEXITY_SMTP_HOST``, ``OPTEXITY_CHROMIUM``); command-line options override it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ADDRESS_PATTERN = r"^[^@\s]+@[^@\s]+$"
"""A mail address as a node's ``notify`` takes it (``schemas.actions.HumanInLoopAction``):
one ``@``, no whitespace, so no CR/LF that could add a header to the message."""


class RunnerSettings(BaseSettings):
    """How the runner runs: browser, limits, run folder, mail and the live view."""

    model_config = SettingsConfigDict(env_prefix="OPTEXITY_", extra="ignore", frozen=True)

    # --- browser ---
    chromium: Path | None = None
    """Chromium executable; else Playwright's own browser, then Debian's (/usr/lib/chromium)."""
    headless: bool = True
    """Run the browser without a window (the live view works either way)."""
    viewport_width: int = Field(1280, ge=320, le=3840)
    """Page width in CSS pixels."""
    viewport_height: int = Field(720, ge=240, le=2160)
    """Page height in CSS pixels."""

    # --- run ---
    out_dir: Path = Path("runs")
    """Where run folders (``<out_dir>/<run_id>/``) are written."""
    run_time_limit: float = Field(600.0, gt=0, le=600.0)
    """Hard limit on one run in seconds, pauses included (600 at most)."""
    trace: bool = False
    """Record a Playwright trace (``trace.zip``, open with ``playwright show-trace``)."""
    upload_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    """Folders ``upload_file.file_path`` may read besides the automation file's own;
    ``OPTEXITY_UPLOAD_DIRS`` takes a comma-separated list."""
    retry_backoff: float = Field(1.0, ge=0, le=60)
    """Seconds before the first whole-run retry; doubled for each further one."""

    # --- mail (the pause's notification) ---
    smtp_host: str | None = None
    """SMTP server; without it the link is printed and the message saved as an .eml file."""
    smtp_port: int | None = None
    """SMTP port (default 587 with STARTTLS, 465 with SSL, else 25)."""
    smtp_user: str | None = None
    """SMTP login name."""
    smtp_password: SecretStr | None = None
    """SMTP password; never logged."""
    smtp_starttls: bool = False
    """Upgrade the connection with STARTTLS."""
    smtp_ssl: bool = False
    """Connect with implicit TLS (SMTPS)."""
    smtp_timeout: float = Field(10.0, gt=0)
    """Seconds before one SMTP attempt is given up."""
    mail_from: str = "optexity-runner@localhost"
    """Sender address of the pause notifications."""
    notify: Annotated[list[Annotated[str, Field(pattern=ADDRESS_PATTERN)]], NoDecode] = Field(
        default_factory=list
    )
    """Default recipients of pause notifications (a node's ``notify`` overrides it);
    ``OPTEXITY_NOTIFY`` takes a comma-separated list."""

    # --- live view ---
    stream_host: str = "127.0.0.1"
    """Address the live view binds to."""
    stream_port: int = Field(0, ge=0, le=65535)
    """Port of the live view; 0 picks a free one."""
    public_url: str | None = None
    """Base URL people open (behind a reverse proxy); default ``http://<host>:<port>``."""
    secret_key: SecretStr | None = None
    """Key that signs links; a random key per process when unset."""
    screencast_quality: int = Field(60, ge=10, le=100)
    """JPEG quality of live-view frames."""
    screencast_max_fps: float = Field(25.0, gt=0, le=60)
    """Frames per second sent to a viewer at most."""

    @field_validator("notify", "upload_dirs", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("mail_from")
    @classmethod
    def _single_line_sender(cls, value: str) -> str:
        # It becomes the From header: a line break would let it add headers of its own.
        if "\r" in value or "\n" in value:
            raise ValueError(f"mail_from must be one line, got {value!r}")
        return value
