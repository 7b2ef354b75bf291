"""The VAD analysis: explore() on synthetic and real probability traces, and VAD sources."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rtnb.analysis import ServerMark, explore, vad_source
from rtnb.engine.core import RealtimeCore
from rtnb.engine.speech.vad import SileroVad, trace
from rtnb.engine.turns import EAGERNESS, FRAME_MS, TurnConfig, detect
from tests.logscript import Script


def frames(*runs: tuple[float, int]) -> list[float]:
    """A probability trace from runs of (probability, ms); ms a multiple of 32."""
    return [p for p, ms in runs for _ in range(ms // FRAME_MS)]


def test_explore_exact_on_a_synthetic_trace():
    # speech 320..960 ms, a 320 ms pause, speech 1280..1600, then silence to 2560
    probs = frames((0.0, 320), (0.9, 640), (0.0, 320), (0.9, 320), (0.0, 960))
    split = explore(probs, 0.5, 300, 288)
    assert [(s.start_ms, s.padded_start_ms, s.end_ms, s.decided_ms) for s in split.segments] == [
        (320, 20, 960, 1248), (1280, 980, 1600, 1888)]
    assert split.eot_latency_ms == [288, 288] and split.decision_lag_ms == [0, 0]
    (pause,) = split.pauses
    assert (pause.start_ms, pause.end_ms, pause.splits, pause.flagged) == (960, 1280, True, True)
    merged = explore(probs, 0.5, 300, 352)
    assert [(s.start_ms, s.end_ms, s.decided_ms) for s in merged.segments] == [(320, 1600, 1952)]
    assert [(p.start_ms, p.end_ms, p.splits) for p in merged.pauses] == [(960, 1280, False)]
    assert merged.duration_ms == 2560 and merged.count == 1
    assert explore(probs, 0.95, 300, 288).count == 0
    open_turn = explore(frames((0.0, 64), (0.9, 128)), 0.5, 0, 500)
    assert [(s.start_ms, s.end_ms, s.decided_ms) for s in open_turn.segments] == [(64, 192, None)]
    assert "still open" in open_turn.describe()


def log_with_marks(turn_detection: dict | None) -> Script:
    s = Script()
    s.at(0.0, "server", "session.updated",
         session={"audio": {"input": {"turn_detection": turn_detection}}})
    s.mic(0.0, 300)
    s.at(0.3, "server", "input_audio_buffer.speech_started", audio_start_ms=0, item_id="u")
    s.mic(0.3, 900)
    s.at(1.2, "server", "input_audio_buffer.speech_stopped", audio_end_ms=640, item_id="u")
    s.mic(1.2, 80)
    return s


@pytest.mark.parametrize(("turn_detection", "config"), [
    ({"type": "server_vad", "threshold": 0.6, "silence_duration_ms": 400},
     TurnConfig(threshold=0.6, silence_duration_ms=400)),
    ({"type": "semantic_vad", "eagerness": "high"},
     TurnConfig(silence_duration_ms=300, max_wait_ms=2000,
                finished_threshold=EAGERNESS["high"][2])),
    (None, TurnConfig()),  # off: explore what server_vad's defaults would do
])
def test_vad_source_of_a_log(turn_detection, config):
    src = vad_source(log_with_marks(turn_detection).log)
    assert src.config == config and len(src.pcm) == 1280 * 48
    made_by = config if turn_detection else None  # reported off: no settings made them
    assert src.marks == [ServerMark("speech_started", 0, 300.0, made_by),
                         ServerMark("speech_stopped", 640, 1200.0, made_by)]
    assert src.logged_turns == 1
    assert src.settings(silence_duration_ms=800).silence_duration_ms == 800
    assert src.settings(threshold=0.3).prefix_padding_ms == config.prefix_padding_ms


def test_each_server_mark_carries_the_settings_that_made_it():
    s = log_with_marks({"type": "server_vad", "silence_duration_ms": 400})
    s.at(1.3, "server", "session.updated", session={"audio": {"input": {"turn_detection": {
        "type": "server_vad", "threshold": 0.7, "silence_duration_ms": 900}}}})
    s.at(1.6, "server", "input_audio_buffer.speech_started", audio_start_ms=900, item_id="v")
    marks = vad_source(s.log).marks
    assert [m.config for m in marks] == [TurnConfig(silence_duration_ms=400)] * 2 + [
        TurnConfig(threshold=0.7, silence_duration_ms=900)]
    assert vad_source(s.log).config == marks[-1].config  # the settings in force at the end
    first, second = vad_source(s.log).server_segments
    assert (first.padded_start_ms, first.start_ms, first.end_ms, first.decided_ms) == (
        0, 0, 640, 1200)  # padded start clipped at 0: the onset is unknown
    # speech_started at 900 under prefix padding 300 (the new settings keep the default);
    # no speech_stopped: open until the audio ends (1280 ms appended)
    assert (second.padded_start_ms, second.start_ms, second.end_ms, second.decided_ms) == (
        900, 1200, 1280, None)
    unreported = Script().mic(0.0, 100).at(0.1, "server", "input_audio_buffer.speech_started",
                                           audio_start_ms=0, item_id="u")
    assert vad_source(unreported.log).marks[0].config == TurnConfig()  # the GA default


def test_vad_source_of_raw_audio_and_cached_probs(monkeypatch):
    src = vad_source(np.zeros(24000, dtype=np.float32))
    assert src.config == TurnConfig() and src.entries == [] and src.logged_turns is None
    calls = []
    fake = frames((0.0, 320), (0.9, 320), (0.0, 352))

    def fake_trace(pcm):
        calls.append(len(pcm))
        return fake

    monkeypatch.setattr("rtnb.engine.speech.vad.trace", fake_trace)
    first = src.explore()
    again = src.explore(silence_duration_ms=320)
    assert calls == [48000]  # traced once, explored twice
    assert first.config.silence_duration_ms == 500 and first.count == 1
    assert [s.decided_ms for s in first.segments] == [None]
    assert [s.decided_ms for s in again.segments] == [960]


def test_explore_silence_window_merges_or_splits(two_utterances):
    pcm, first_ms = two_utterances
    probs = trace(pcm)
    merged = explore(probs, 0.5, 300, 800)
    split = explore(probs, 0.5, 300, 300)
    assert merged.count == 1 and split.count == 2
    assert not merged.flagged_pauses
    (pause,) = split.flagged_pauses  # the 400 ms pause cut one utterance in two
    assert 600 + first_ms - 100 <= pause.start_ms and pause.end_ms <= 600 + first_ms + 500
    assert all(300 <= v < 332 for v in split.eot_latency_ms)
    assert split.decision_lag_ms == [v - 300 for v in split.eot_latency_ms]
    assert all(800 <= v < 832 for v in merged.eot_latency_ms)
    assert "window" in split.describe()


def test_explore_higher_threshold_gives_less_speech(two_utterances):
    probs = trace(two_utterances[0])

    def speech(th):
        r = explore(probs, th, 300, 300)
        return r.count, sum(s.end_ms - s.start_ms for s in r.segments)

    (n_low, ms_low), (n_high, ms_high) = speech(0.3), speech(0.95)
    assert n_high <= n_low and ms_high < ms_low
    assert explore(probs, 0.5, 0, 300).segments[0].padded_start_ms == explore(
        probs, 0.5, 300, 300).segments[0].start_ms


def test_explorer_matches_the_engine(two_utterances):
    pcm = two_utterances[0]
    for silence in (300, 800):
        cfg = TurnConfig(silence_duration_ms=silence)
        core = RealtimeCore(vad_factory=SileroVad)
        core.receive(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "audio": {"input": {"turn_detection": {
                "type": "server_vad", "silence_duration_ms": silence}}}}}))
        wire = []
        for i in range(0, len(pcm), 1920):
            wire += [o for o in core.feed_audio(pcm[i:i + 1920]) if isinstance(o, dict)]
        engine = [(e["audio_start_ms"], None) for e in wire
                  if e["type"] == "input_audio_buffer.speech_started"]
        ends = [e["audio_end_ms"] for e in wire if e["type"] == "input_audio_buffer.speech_stopped"]
        engine = [(a, b) for (a, _), b in zip(engine, ends, strict=True)]
        probs = trace(pcm)
        events = detect(probs, cfg)
        direct = [(s.audio_start_ms, t.audio_start_ms) for s, t in zip(
            [e for e in events if e.kind == "speech_started"],
            [e for e in events if e.kind == "speech_stopped"], strict=True)]
        result = explore(probs, cfg.threshold, cfg.prefix_padding_ms, silence)
        assert [(s.padded_start_ms, s.end_ms) for s in result.segments] == direct == engine
        assert list(result.events) == events


