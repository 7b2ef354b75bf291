"""Replay as a transport: a saved recording, played back through a session.

The session logs each entry (client, server and local alike) with its original
time and agent, so its transcript, metrics, plots and any widget listening to it
see what the live session saw, and the output audio goes to its player. A replay
sends nothing and runs no tools or guardrails: they already ran, and their results
are in the recording.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from .. import events as ev
from .eventlog import EventLog
from .transport import Replayed, Transport, TransportClosed

_AUDIO = frozenset({ev.INPUT_AUDIO_APPEND, ev.AUDIO_DELTA})


class ReplayTransport(Transport):
    """Plays the recording at ``source`` (a folder, or an :class:`EventLog`) at ``speed``
    times real time (None: as fast as possible)."""

    kind = "replay"
    plays_recording = True

    def __init__(self, source: str | Path | EventLog, speed: float | None = 1.0) -> None:
        self.path = None if isinstance(source, EventLog) else Path(source)
        self._log = source if isinstance(source, EventLog) else None
        self.speed = speed
        self._next = 0
        self._start = 0.0
        self._closed = False

    def __repr__(self) -> str:
        return f"ReplayTransport({self.path or 'an event log'}, speed={self.speed})"

    async def connect(self) -> None:
        if self._log is None:
            assert self.path is not None
            self._log, _meta = await asyncio.to_thread(EventLog.load, self.path)
        self._next = 0
        self._start = time.monotonic()
        self._closed = False

    async def send(self, event: dict[str, Any]) -> None:
        raise TransportClosed("a replayed recording takes no input")

    async def recv(self) -> Replayed:  # type: ignore[override]
        if self._log is None or self._closed or self._next >= len(self._log.entries):
            raise TransportClosed("replay finished")
        entry = self._log.entries[self._next]
        self._next += 1
        if self.speed:
            due = self._start + entry.t / self.speed
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        return Replayed(entry, self._log.audio_of(entry) if entry.type in _AUDIO else None)

    async def close(self) -> None:
        self._closed = True
