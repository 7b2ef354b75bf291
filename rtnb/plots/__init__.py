"""Latency and VAD plots for notebooks (matplotlib, imported lazily).

Everything comes from :mod:`rtnb.analysis`, which derives the numbers from the
session's event log, so a live :class:`~rtnb.Session` and ``rtnb.load(path)`` give
the same figures. VAD plots run the engine's own VAD and turn detection
(:mod:`rtnb.engine.speech.vad`, :mod:`rtnb.engine.turns`) over the input audio.
Each function returns a :class:`Plot`: it shows itself in a notebook (no
``%matplotlib`` magic needed) and ``.figure`` is the matplotlib Figure (not managed by
pyplot), e.g. ``rtnb.plot_latency(s).savefig("latency.png")``.
"""

from __future__ import annotations

from .._compat import moved
from ..analysis import TurnTimes, turn_times, vad_source
from .figure import DISPLAY_DPI, PIXEL_RATIO, Plot
from .latency import METRIC_LABELS, TARGETS, plot_latency, plot_latency_summary
from .vad import plot_vad, settings_text, vad_figure

__all__ = ["DISPLAY_DPI", "METRIC_LABELS", "PIXEL_RATIO", "TARGETS", "Plot",
           "TurnTimes", "plot_latency", "plot_latency_summary", "plot_vad", "settings_text",
           "turn_times", "vad_figure", "vad_source"]

__getattr__ = moved(__name__, {
    "logged_turn_detection": "rtnb.analysis:turn_detection_in_force",
    **{name: "rtnb.analysis" for name in ("ServerMark", "MetricsTable", "compute_turns")}})
