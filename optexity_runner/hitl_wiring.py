"""Temporary: no human-in-the-loop service until the pause issue lands."""

from __future__ import annotations

from contextlib import asynccontextmanager
from collections.abc import AsyncIterator
from typing import Any


@asynccontextmanager
async def human_loop_for(request: Any, reporter: Any) -> AsyncIterator[None]:
    yield None
