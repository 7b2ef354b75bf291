"""Run the engine in a background thread with its own event loop.

``start_engine()`` returns once the server listens, without touching the
caller's event loop, so it is safe inside a notebook kernel.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from .parts import Engine
from .server import EngineServer


class RunningEngine:
    """A started engine. Use as a context manager, or call :meth:`stop`."""

    def __init__(self, server: EngineServer, loop: asyncio.AbstractEventLoop,
                 thread: threading.Thread) -> None:
        self.server = server
        self._loop = loop
        self._thread = thread

    @property
    def url(self) -> str:
        """The base URL for ``websocket_base_url``: ``ws://HOST:PORT/v1``."""
        return self.server.url

    @property
    def http_url(self) -> str:
        """The base URL for the HTTP API (``base_url`` of an ``OpenAI`` client)."""
        return self.url.replace("ws://", "http://", 1)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def issue_client_secret(self, ttl_s: int = 600) -> str:
        """A short-lived ``ek_`` key accepted in place of the engine token."""
        return self.server.engine.auth.issue(ttl_s)[0]

    def stop(self, timeout: float = 10.0) -> None:
        if not self._thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop)
        try:
            fut.result(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> RunningEngine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RunningEngine {self.url} {state}>"


def start_engine(host: str = "127.0.0.1", port: int = 0, *, token: str | None = None,
                 brain: Any = None, engine: Engine | None = None,
                 progress: Callable[[str], None] | None = None,
                 timeout: float = 120.0) -> RunningEngine:
    """Start an engine in the background and return once it listens.

    ``brain`` is a :class:`~rtnb.engine.brain.Brain`, or a spec string for
    :func:`~rtnb.engine.brain.make_brain` (an OpenAI-compatible URL).
    """
    if engine is None:
        engine = Engine.load(brain, token=token, progress=progress)
    elif token is not None:
        import dataclasses

        from .auth import Auth

        engine = dataclasses.replace(engine, auth=Auth(token))  # models stay shared
    server = EngineServer(engine, host, port)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="rtnb-engine", daemon=True)
    thread.start()
    if not ready.wait(timeout):
        raise TimeoutError(f"the rtnb engine did not start within {timeout:.0f}s")
    if failure:
        raise RuntimeError(f"the rtnb engine could not listen on {host}:{port}: "
                           f"{failure[0]}") from failure[0]
    return RunningEngine(server, loop, thread)


_shared: RunningEngine | None = None
_shared_lock = threading.Lock()


def shared_engine(progress: Callable[[str], None] | None = None) -> RunningEngine:
    """The process's embedded engine, started on first use and reused after."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = start_engine(port=0, progress=progress)
        return _shared
