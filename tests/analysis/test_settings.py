"""The turn detection in force, read from the log as the engine reads the wire."""

from __future__ import annotations

import pytest

from rtnb.analysis import settings
from rtnb.engine.turns import EAGERNESS, TurnConfig
from tests.logscript import Script


def updated(s: Script, t: float, session: dict, kind: str = "session.updated") -> Script:
    return s.at(t, "server", kind, session=session)


def semantic(eagerness: str) -> TurnConfig:
    window, longest, threshold = EAGERNESS[eagerness]
    return TurnConfig(silence_duration_ms=window, max_wait_ms=longest,
                      finished_threshold=threshold)


def td(value) -> dict:
    return {"audio": {"input": {"turn_detection": value}}}


@pytest.mark.parametrize(("wire", "expected"), [
    ({"type": "server_vad"}, TurnConfig()),
    ({"type": "server_vad", "threshold": 0.7, "prefix_padding_ms": 100,
      "silence_duration_ms": 800, "idle_timeout_ms": 5000},
     TurnConfig(threshold=0.7, prefix_padding_ms=100, silence_duration_ms=800,
                idle_timeout_ms=5000)),
    ({"type": "semantic_vad", "eagerness": "high"},
     TurnConfig(silence_duration_ms=300, max_wait_ms=2000,
                finished_threshold=EAGERNESS["high"][2])),
    ({"type": "semantic_vad"}, semantic("auto")),
    (None, None),
])
def test_reported_settings_are_the_engines(wire, expected):
    s = updated(Script(), 0.0, td(wire))
    assert settings.in_force(s.log.entries) == expected
    if expected is not None:
        assert expected == TurnConfig.from_wire(wire)  # the engine's own reading


def test_settings_change_over_the_log():
    s = Script()
    s.text(0.0, "hi")  # before any report: the GA default
    updated(s, 0.1, td({"type": "server_vad", "silence_duration_ms": 700}), "session.created")
    s.at(0.2, "client", "session.update", session=td(None))  # a request, not a report
    updated(s, 0.3, {"instructions": "be brief"})  # says nothing about turn detection
    updated(s, 0.4, td(None))
    updated(s, 0.5, td({"type": "semantic_vad", "eagerness": "low"}))
    entries = s.log.entries
    window = TurnConfig(silence_duration_ms=700)
    expected = [settings.DEFAULT, settings.DEFAULT, window, window, window, None,
                TurnConfig(silence_duration_ms=1000, max_wait_ms=8000,
                           finished_threshold=EAGERNESS["low"][2])]
    assert [settings.in_force(entries, upto) for upto in range(len(entries) + 1)] == expected
    assert settings.in_force(entries) == expected[-1]
    history = settings.changes(entries)
    assert [i for i, _ in history] == [1, 4, 5]
    assert [settings.at(history, i) for i in range(len(entries) + 1)] == expected
