"""The analysis layer: everything rtnb measures, derived once from the event log.

Data flow: wire → event log (:mod:`rtnb.session.eventlog`) → this package → metrics
tables, plots (:mod:`rtnb.plots`), the VAD explorer (:mod:`rtnb.explorer`) and the
benchmarks. A live :class:`~rtnb.Session`, a loaded :class:`~rtnb.Recording` and a
replay give the same figures because they give the same log.

- :mod:`.settings`: the turn detection in force (read as the engine reads it).
- :mod:`.clock`: input audio position → session time.
- :mod:`.timeline`: user turns, their anchor, marks and spans (tool, approval wait,
  handoff, supervisor, filler gap, barge-in).
- :mod:`.metrics`: per-turn figures (:class:`Turn`) and :class:`MetricsTable`.
- :mod:`.times`: marks and spans relative to the end of input (what a latency plot draws).
- :mod:`.vad`: the VAD source, the server's marks and :func:`explore`.
- :mod:`.sources`: accepts a Session, Recording, EventLog or list of entries.

It imports only :mod:`rtnb.events` and the engine's pure turn detection
(:mod:`rtnb.engine.turns`); lazily, the engine's VAD (:attr:`VadSource.probs`) and
:mod:`rtnb.audio` (to load plain audio). Log entries are read by their fields, so the
session package, which uses this one, is never imported.
"""

from .clock import AudioClock
from .metrics import METRICS, MetricsTable, Turn, compute_turns, turn_metrics
from .settings import in_force as turn_detection_in_force
from .sources import entries_of, metrics_of
from .timeline import (
    APPROVAL,
    BARGE_IN,
    FILLER_GAP,
    HANDOFF,
    STALL,
    SUPERVISOR,
    TOOL,
    Span,
    TurnTimeline,
    input_anchor,
    is_turn_start,
    ms_between,
    timelines,
)
from .times import TurnTimes, times_from_turn, turn_times
from .vad import (
    MAX_PAUSE_MS,
    ExplorerResult,
    Pause,
    Segment,
    ServerMark,
    VadSource,
    explore,
    server_marks,
    vad_source,
)

__all__ = [
    "APPROVAL", "BARGE_IN", "FILLER_GAP", "HANDOFF", "STALL", "SUPERVISOR", "TOOL", "ms_between", "METRICS", "MAX_PAUSE_MS", "AudioClock", "ExplorerResult", "MetricsTable", "Pause",
    "Segment", "ServerMark", "Span", "Turn", "TurnTimeline", "TurnTimes", "VadSource",
    "compute_turns", "entries_of", "explore", "input_anchor", "is_turn_start", "metrics_of",
    "server_marks", "timelines", "times_from_turn", "turn_detection_in_force", "turn_metrics",
    "turn_times", "vad_source",
]
