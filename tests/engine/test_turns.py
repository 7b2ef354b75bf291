"""Turn detection: transition table and properties of the pure step function."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtnb.engine.turns import (
    FRAME_MS,
    TurnConfig,
    TurnState,
    arm_idle_timeout,
    detect,
    settle,
    step,
)

CFG = TurnConfig(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500)


@pytest.mark.parametrize(
    ("phase", "prob", "next_phase", "kinds"),
    [
        ("idle", 0.1, "idle", []),
        ("idle", 0.9, "speech", ["speech_started"]),
        ("speech", 0.9, "speech", []),
        ("speech", 0.4, "speech", []),  # hysteresis keeps speech going at 0.35..0.5
        ("speech", 0.1, "trailing", ["silence_began"]),
        ("trailing", 0.1, "trailing", []),
        ("trailing", 0.4, "trailing", []),  # below threshold: does not resume
        ("trailing", 0.9, "speech", ["speech_resumed"]),
    ],
)
def test_transition_table(phase, prob, next_phase, kinds):
    state = TurnState(phase=phase, t_ms=1000, speech_start_ms=500, last_voice_ms=1000)
    new, events = step(state, prob, CFG)
    assert new.phase == next_phase
    assert [e.kind for e in events] == kinds
    assert new.t_ms == 1000 + FRAME_MS


def test_trailing_ends_after_silence_window():
    state = TurnState(phase="trailing", t_ms=1480, speech_start_ms=500, last_voice_ms=1000)
    new, events = step(state, 0.0, CFG)
    assert new.phase == "idle"
    assert [e.kind for e in events] == ["speech_stopped"]
    assert events[0].audio_start_ms == 1000  # the real end of speech
    assert events[0].audio_ms == 1512


def test_speech_started_includes_prefix_padding():
    probs = [0.0] * 20 + [0.9] * 10 + [0.0] * 20
    events = detect(probs, CFG)
    started = [e for e in events if e.kind == "speech_started"]
    assert len(started) == 1
    assert started[0].audio_ms == 20 * FRAME_MS
    assert started[0].audio_start_ms == 20 * FRAME_MS - 300


def test_exact_turn_timing():
    # 10 frames of speech from 640 ms: speech ends at 960 ms; the stop decision lands
    # on the first frame boundary at least 500 ms later.
    probs = [0.0] * 20 + [0.9] * 10 + [0.0] * 30
    kinds = [(e.kind, e.audio_ms, e.audio_start_ms) for e in detect(probs, CFG)]
    assert kinds == [
        ("speech_started", 640, 340),
        ("silence_began", 960, 960),
        ("speech_stopped", 1472, 960),
    ]


def test_pause_shorter_than_window_keeps_one_turn():
    probs = [0.9] * 10 + [0.0] * 10 + [0.9] * 10 + [0.0] * 20
    kinds = [e.kind for e in detect(probs, CFG)]
    assert kinds.count("speech_started") == 1
    assert kinds.count("speech_stopped") == 1
    assert "speech_resumed" in kinds


def test_idle_timeout_fires_once_after_arming():
    cfg = TurnConfig(idle_timeout_ms=1000)
    state = arm_idle_timeout(TurnState(t_ms=0), delay_ms=200)
    fired = []
    for _ in range(60):
        state, events = step(state, 0.0, cfg)
        fired += [(e.kind, e.audio_ms) for e in events]
    assert fired == [("timeout", 1216)]


def test_semantic_vad_eagerness_windows():
    high = TurnConfig.from_wire({"type": "semantic_vad", "eagerness": "high"})
    low = TurnConfig.from_wire({"type": "semantic_vad", "eagerness": "low"})
    assert high.silence_duration_ms < low.silence_duration_ms
    assert (high.max_wait_ms, low.max_wait_ms) == (2000, 8000)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0, 1), max_size=400), st.sampled_from([0.3, 0.5, 0.8]),
       st.integers(0, 1000), st.integers(64, 1500))
def test_turns_are_well_formed(probs, threshold, prefix, silence):
    cfg = TurnConfig(threshold=threshold, prefix_padding_ms=prefix, silence_duration_ms=silence)
    events = detect(probs, cfg)
    wire = [e for e in events if e.kind in ("speech_started", "speech_stopped")]
    # Starts and stops alternate, beginning with a start.
    assert all(e.kind == ("speech_started" if i % 2 == 0 else "speech_stopped")
               for i, e in enumerate(wire))
    for e in events:
        assert 0 <= e.audio_start_ms <= e.audio_ms <= len(probs) * FRAME_MS
    for start, stop in zip(wire[::2], wire[1::2], strict=False):
        assert stop.audio_ms - stop.audio_start_ms >= silence  # waited the full window
        assert start.audio_start_ms <= stop.audio_start_ms
    # Nothing fires on silence.
    if all(p < threshold for p in probs):
        assert wire == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), max_size=400),
       st.sampled_from(["low", "medium", "high"]))
def test_semantic_waits_between_the_window_and_the_longest_wait(frames, eagerness):
    """Whatever ``extend`` says frame by frame, a turn ends no sooner than the window after
    the last voiced frame, and no later than the longest wait (plus one frame)."""
    cfg = TurnConfig.from_wire({"type": "semantic_vad", "eagerness": eagerness})
    state = TurnState()
    for prob, extend in frames:
        state, events = step(state, prob, cfg, extend=extend)
        for e in events:
            if e.kind == "speech_stopped":
                waited = e.audio_ms - e.audio_start_ms
                assert cfg.silence_duration_ms <= waited <= cfg.max_wait_ms + FRAME_MS
                if extend:
                    assert waited >= cfg.max_wait_ms


@pytest.mark.parametrize(("phase", "silence_ms", "extend", "stops"), [
    ("trailing", 499, False, False),
    ("trailing", 500, False, True),
    ("trailing", 500, True, False),   # extended: the longest wait applies
    ("trailing", 4000, True, True),
    ("speech", 5000, False, False),   # only a pause can end
    ("idle", 5000, False, False),
])
def test_settle_table(phase, silence_ms, extend, stops):
    cfg = TurnConfig(silence_duration_ms=500, max_wait_ms=4000, finished_threshold=0.3)
    state = TurnState(phase=phase, t_ms=1000 + silence_ms, speech_start_ms=200,
                      last_voice_ms=1000)
    new, events = settle(state, cfg, extend=extend)
    assert [e.kind for e in events] == (["speech_stopped"] if stops else [])
    assert new.t_ms == state.t_ms  # settling consumes no audio
    if stops:
        assert new.phase == "idle" and events[0].audio_start_ms == 1000
        assert events[0].audio_ms == state.t_ms
    else:
        assert new == state
