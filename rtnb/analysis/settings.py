"""The turn detection in force: what the server last reported, read as the engine reads it.

Every figure that depends on the VAD settings (barge-in's prefix padding, the VAD plots'
threshold and windows, the explorer's starting point) asks :func:`in_force`, which
reads ``session.created``/``session.updated`` through the engine's own
:meth:`~rtnb.engine.turns.TurnConfig.from_wire`. So ``semantic_vad`` pads by the
engine's 300 ms, as the engine does, not by a default of this module's own.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import events as ev
from ..engine.turns import TurnConfig

if TYPE_CHECKING:
    from ..session.eventlog import LoggedEvent

#: Before the server reports anything: the GA default, server_vad with its defaults.
DEFAULT = TurnConfig()

_SESSION_EVENTS = frozenset({ev.SESSION_CREATED, ev.SESSION_UPDATED})
#: What :func:`reported` returns for an entry that says nothing about turn detection.
NOT_REPORTED: Any = object()


def reported(entry: LoggedEvent) -> Any:
    """The settings a server ``session.created``/``updated`` entry reports.

    A :class:`TurnConfig`, ``None`` (turn detection off), or :data:`NOT_REPORTED` for any
    other entry, or a session object without the ``turn_detection`` field.
    """
    if entry.direction != "server" or entry.type not in _SESSION_EVENTS:
        return NOT_REPORTED
    audio_input = ((entry.event.get("session") or {}).get("audio") or {}).get("input") or {}
    if "turn_detection" not in audio_input:
        return NOT_REPORTED
    td = audio_input["turn_detection"]
    return TurnConfig.from_wire(td) if td else None


def changes(entries: Sequence[LoggedEvent]) -> list[tuple[int, TurnConfig | None]]:
    """``(index, settings)`` of every entry that reports the turn detection, in log order."""
    out = []
    for i, entry in enumerate(entries):
        got = reported(entry)
        if got is not NOT_REPORTED:
            out.append((i, got))
    return out


def in_force(entries: Sequence[LoggedEvent], upto: int | None = None) -> TurnConfig | None:
    """The turn detection in force before ``entries[upto]`` (after all of them by default).

    ``None`` while the server has it off (push-to-talk); :data:`DEFAULT` before any report.
    """
    return at(changes(entries), len(entries) if upto is None else upto)


def at(history: list[tuple[int, TurnConfig | None]], index: int) -> TurnConfig | None:
    """The settings in force before entry ``index``, from :func:`changes`."""
    i = bisect.bisect_left(history, index, key=lambda change: change[0])
    return history[i - 1][1] if i else DEFAULT
