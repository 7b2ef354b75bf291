"""Per-turn event times relative to the user's end of input: what a latency plot draws."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .metrics import Turn, turn_metrics
from .sources import entries_of, metrics_of
from .timeline import APPROVAL, FILLER_GAP, HANDOFF, SUPERVISOR, TOOL, timelines

#: The span kinds a waterfall draws (barge-in has its own panel).
DRAWN = (APPROVAL, TOOL, HANDOFF, SUPERVISOR, FILLER_GAP)


@dataclass
class TurnTimes:
    """A turn's event times in ms from the user's end of speech (typed input: its send).

    ``marks``: ``end_of_turn`` (speech_stopped), ``committed``, ``transcribed``,
    ``created`` (first response.created), ``first_audio``. ``spans``: ``(kind, label,
    start, end)`` with kind ``approval``, ``tool``, ``supervisor``, ``handoff`` or ``filler_gap``.
    ``approximate``: placed from durations only (the source was a MetricsTable).
    """

    turn: Turn
    marks: dict[str, float] = field(default_factory=dict)
    spans: list[tuple[str, str, float, float]] = field(default_factory=list)
    approximate: bool = False


def turn_times(source: Any) -> list[TurnTimes]:
    """Per-turn event times of a Session, Recording, event log or its entries, from the
    same timelines as the metrics; of a MetricsTable, placed from durations (approximate)."""
    entries = entries_of(source)
    if entries is None:
        return [times_from_turn(t) for t in metrics_of(source).turns]
    out = []
    for tl in timelines(entries):
        # When the end of speech is past the appended audio, count from speech_stopped.
        origin = tl.anchor if tl.anchor is not None else tl.marks.get("end_of_turn", tl.t)

        def rel(t: float, origin: float = origin) -> float:
            return round((t - origin) * 1000, 3)

        spans = [(s.kind, s.label, rel(s.start), rel(s.end)) for s in tl.spans
                 if s.kind in DRAWN and (s.kind != FILLER_GAP or s.end > s.start)]
        out.append(TurnTimes(turn_metrics(tl), {k: rel(v) for k, v in tl.marks.items()}, spans))
    return out


def times_from_turn(turn: Turn) -> TurnTimes:
    """Marks placed from durations alone; tool/supervisor/handoff spans end at first audio."""
    marks: dict[str, float] = {}
    if turn.end_of_turn_delay is not None:
        marks["end_of_turn"] = marks["committed"] = turn.end_of_turn_delay
        if turn.transcription_delay is not None:
            marks["transcribed"] = turn.end_of_turn_delay + turn.transcription_delay
    if turn.e2e is not None:
        marks["first_audio"] = turn.e2e
        if turn.ttfb is not None:
            marks["created"] = turn.e2e - turn.ttfb
    end = marks.get("first_audio", marks.get("created", 0.0))
    spans: list[tuple[str, str, float, float]] = []
    if turn.handoff_time is not None:
        spans.append((HANDOFF, "handoff", end - turn.handoff_time, end))
        end -= turn.handoff_time
    for name, dur in reversed(turn.tools):
        spans.append((TOOL, name, end - dur, end))
        if turn.supervisor_time is not None and "supervisor" in name.lower():
            spans.append((SUPERVISOR, "supervisor", end - dur,
                          end - dur + turn.supervisor_time))
        end -= dur
    return TurnTimes(turn, marks, spans, approximate=True)
