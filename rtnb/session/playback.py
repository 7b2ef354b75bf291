"""Where playback of the assistant's audio is, so truncation cuts at what was heard.

A real player (the notebook's speaker widget) reports its position. Without one,
:class:`ClockPlayer` assumes each item plays in real time from its first chunk,
queued back to back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Item:
    item_id: str
    start: float
    received_ms: float = 0.0


class ClockPlayer:
    """Playback assumed from the wall clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._queue: list[_Item] = []

    def feed(self, item_id: str, pcm: bytes) -> None:
        ms = len(pcm) / 48
        if self._queue and self._queue[-1].item_id == item_id:
            self._queue[-1].received_ms += ms
            return
        now = self._clock()
        start = max(now, self._queue[-1].start + self._queue[-1].received_ms / 1000
                    ) if self._queue else now
        self._queue.append(_Item(item_id, start, ms))

    def position(self) -> tuple[str, float] | None:
        """``(item_id, played_ms)`` of the item playing now, or None when silent."""
        now = self._clock()
        for item in self._queue:
            played = (now - item.start) * 1000
            if 0 <= played < item.received_ms:
                return item.item_id, played
        return None

    def remaining(self) -> float:
        """Seconds until everything received so far has played."""
        if not self._queue:
            return 0.0
        last = self._queue[-1]
        return max(0.0, last.start + last.received_ms / 1000 - self._clock())

    def flush(self) -> tuple[str, float] | None:
        """Stop playback; returns what was playing and how far it got."""
        where = self.position()
        self._queue.clear()
        return where
