"""A blocking facade over :class:`Session`, for scripts and non-async code.

The session runs on its own event loop in a background thread, so this works
both in plain scripts and inside a notebook kernel whose loop is already running.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from .session import Session


class SyncSession:
    """``with rtnb.SyncSession(agent) as s: print(s.say("hi"))``."""

    def __init__(self, agent: Any, backend: Any = None, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="rtnb-session",
                                        daemon=True)
        self._thread.start()
        self.session: Session = self._call(_make(agent, backend, options))

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def connect(self) -> SyncSession:
        self._call(self.session.connect())
        return self

    def say(self, text: str, timeout: float = 60.0) -> str:
        """Send text and return the agent's answer."""
        self._call(self.session.say(text))
        return self.wait(timeout)

    def send_audio(self, audio: Any, rate: int | None = None, *, paced: bool = False,
                   commit: bool = False, timeout: float = 60.0) -> str:
        """Send audio and return the agent's answer."""
        self._call(self.session.send_audio(audio, rate, paced=paced, commit=commit))
        return self.wait(timeout)

    def interrupt(self) -> None:
        self._call(self.session.interrupt())

    def approve(self, call: Any, timeout: float = 60.0) -> str:
        """Run a tool call that waits for approval; returns the agent's answer."""
        self._call(self.session.approve(call))
        return self.wait(timeout)

    def reject(self, call: Any, reason: str | None = None, timeout: float = 60.0) -> str:
        """Refuse a tool call that waits for approval; returns the agent's answer."""
        self._call(self.session.reject(call, reason))
        return self.wait(timeout)

    def wait(self, timeout: float = 60.0) -> str:
        return self._call(self.session.wait(timeout))

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self.session.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def __enter__(self) -> SyncSession:
        return self.connect()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:  # transcript, turns, metrics, save, log...
        return getattr(self.session, name)

    def __repr__(self) -> str:
        return repr(self.session).replace("rtnb.Session", "rtnb.SyncSession", 1)


async def _make(agent: Any, backend: Any, options: dict[str, Any]) -> Session:
    return Session(agent, backend, **options)
