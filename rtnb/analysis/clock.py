"""The input audio clock: where a position in the user's audio falls in session time."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import events as ev

if TYPE_CHECKING:
    from ..session.eventlog import LoggedEvent


class AudioClock:
    """Maps input audio milliseconds to session time, through the logged appends."""

    def __init__(self, entries: Iterable[LoggedEvent]) -> None:
        self._ms: list[float] = []
        self._t: list[float] = []
        for e in entries:
            if e.direction == "client" and e.type == ev.INPUT_AUDIO_APPEND:
                self._ms.append(e.input_ms)
                self._t.append(e.t)

    def time_of(self, ms: float) -> float | None:
        """When audio position ``ms`` had been appended (None: not yet appended)."""
        i = bisect.bisect_left(self._ms, ms)
        if i == len(self._ms):
            return None
        t = self._t[i] - (self._ms[i] - ms) / 1000
        return max(t, self._t[i - 1]) if i > 0 else t
