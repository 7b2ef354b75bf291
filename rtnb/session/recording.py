"""Saved sessions: ``rtnb.load(path)`` and replay.

A recording has the same transcript and metrics API as a live session, since
both are derived from the same event log. :meth:`Recording.replay` gives a
session whose transport (:class:`~rtnb.session.replay.ReplayTransport`) plays
the logged events, with their original timestamps, through it (and so through
any widget listening to it), optionally paced in real time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..analysis import MetricsTable, compute_turns
from .eventlog import EventLog
from .transcript import Transcript


class Recording:
    """A loaded recording."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.log, self.meta = EventLog.load(self.path)
        self.transcript = Transcript.from_log(self.log.entries)

    @property
    def turns(self) -> MetricsTable:
        return MetricsTable(compute_turns(self.log.entries))

    def metrics(self) -> MetricsTable:
        return self.turns

    @property
    def duration(self) -> float:
        return self.log.entries[-1].t if self.log.entries else 0.0

    def replay(self, agent: Any = None, speed: float | None = 1.0) -> Any:
        """A :class:`~rtnb.Session` that replays this recording when connected.

        ``speed`` is a multiple of real time (None: as fast as possible).
        """
        from ..agents import Agent
        from .session import Session

        session = Session(agent or Agent(self.meta.get("agent", "replay")), backend=self.path)
        session.replay_speed = speed
        return session

    def __repr__(self) -> str:
        return (f"<rtnb.Recording {self.path} {len(self.log)} events, {self.duration:.1f}s, "
                f"{len(self.turns)} turns>")


def load(path: str | Path) -> Recording:
    """Load a recording saved with ``session.save(path)``."""
    return Recording(path)
