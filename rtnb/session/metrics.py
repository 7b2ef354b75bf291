"""Deprecated: per-turn metrics moved to :mod:`rtnb.analysis` (``rtnb.analysis.metrics``).

The old names still import from here, with a DeprecationWarning.
"""

from __future__ import annotations

from .._compat import moved

_ANALYSIS = {name: "rtnb.analysis" for name in (
    "METRICS", "Turn", "MetricsTable", "compute_turns", "is_turn_start", "input_anchor",
    "AudioClock")}

__getattr__ = moved(__name__, {**_ANALYSIS,
                               "CORRECTIVE_PREFIX": "rtnb.events:CORRECTION_ID_PREFIX"})
