"""Names that moved into rtnb.analysis still import from where they were, with a warning."""

from __future__ import annotations

import importlib

import pytest

import rtnb.analysis as analysis
from rtnb import events


@pytest.mark.parametrize(("module", "name", "now"), [
    ("rtnb.session.metrics", "MetricsTable", analysis.MetricsTable),
    ("rtnb.session.metrics", "compute_turns", analysis.compute_turns),
    ("rtnb.session.metrics", "Turn", analysis.Turn),
    ("rtnb.session.metrics", "METRICS", analysis.METRICS),
    ("rtnb.session.metrics", "is_turn_start", analysis.is_turn_start),
    ("rtnb.session.metrics", "input_anchor", analysis.input_anchor),
    ("rtnb.session.metrics", "AudioClock", analysis.AudioClock),
    ("rtnb.session.metrics", "CORRECTIVE_PREFIX", events.CORRECTION_ID_PREFIX),
    ("rtnb.explorer", "explore", analysis.explore),
    ("rtnb.explorer", "Segment", analysis.Segment),
    ("rtnb.plots", "logged_turn_detection", analysis.turn_detection_in_force),
    ("rtnb.plots", "compute_turns", analysis.compute_turns),
])
def test_moved_names_still_import(module, name, now):
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=f"{name} moved to rtnb"):
        assert getattr(mod, name) is now
    with pytest.raises(AttributeError):
        mod.no_such_name  # noqa: B018


def test_names_that_did_not_move_need_no_alias():
    from rtnb import explorer, plots

    assert explorer.ExplorerResult is analysis.ExplorerResult
    assert explorer.MAX_PAUSE_MS == analysis.MAX_PAUSE_MS
    assert plots.vad_source is analysis.vad_source and plots.TurnTimes is analysis.TurnTimes
    assert plots.turn_times is analysis.turn_times and callable(explorer.vad_explorer)
