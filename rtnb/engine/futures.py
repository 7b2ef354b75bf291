"""Settling an event loop's future from a worker thread."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


def settle(future: asyncio.Future, loop: asyncio.AbstractEventLoop, result: Any = None,
           error: BaseException | None = None, cancel: bool = False) -> None:
    """Resolve ``future`` on ``loop`` (thread-safe): cancel it, fail it or set ``result``.

    A future that is already done stays as it is; a closed loop is ignored.
    """
    def apply() -> None:
        if future.done():
            return
        if cancel:
            future.cancel()
        elif error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    with contextlib.suppress(RuntimeError):  # the loop already closed
        loop.call_soon_threadsafe(apply)
